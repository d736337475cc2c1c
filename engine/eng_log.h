/* Engine log lines on stderr: "decnetd: LEVEL message". Control-plane and
 * start-up paths only; the per-packet path counts instead of logging. */
#ifndef ENG_LOG_H
#define ENG_LOG_H

enum eng_log_level { ENG_LOG_ERR, ENG_LOG_WARN, ENG_LOG_INFO, ENG_LOG_DEBUG };

void eng_log_set_level(enum eng_log_level max);
void eng_log(enum eng_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
