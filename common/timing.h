/* timing.h - clocks for measuring, never for synchronising. */
#ifndef KIT_TIMING_H
#define KIT_TIMING_H

/* Seconds on CLOCK_MONOTONIC: for elapsed time (never jumps with NTP). */
double kit_now(void);
/* CPU seconds (user + system) used so far by this process, all threads. */
double kit_cpu_seconds(void);
/* CPU seconds used so far by the calling thread alone. */
double kit_thread_cpu_seconds(void);
/* Sleep for ms milliseconds, resuming after signal interruptions. */
void kit_sleep_ms(double ms);

#endif
