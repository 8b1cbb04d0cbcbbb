/*
 * log.h: one-line log records on stderr.
 *
 * Never pass a secret, a token, an Authorization header or a request body to
 * these functions: log lines end up in shared log stores.
 */
#ifndef AGENTIDP_LOG_H
#define AGENTIDP_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Set the threshold from a name ("debug", "info", "warn", "error"); -1 if unknown. */
int log_set_level(const char *name);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
