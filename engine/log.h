/*
 * log.h — the daemon's log: the one logging call and where its lines go.
 *
 * Every line is "TIME unisec: LEVEL: MESSAGE", TIME in RFC 3339 with milliseconds and the
 * local offset (2025-01-31T14:05:09.042+01:00), written with one write(2) so that threads'
 * lines never mix. A message holding newlines gives one such line per line of it, so no text
 * a user wrote can pass for a line of the log. Sinks:
 *   stderr   the default; when stderr is the systemd journal ($JOURNAL_STREAM names it),
 *            lines carry the journal's priority prefix ("<6>unisec: info: ...") instead of
 *            the time, which the journal records itself;
 *   a file   opened for appending (made absolute), which also becomes stderr so that what
 *            libraries print lands there too; engine_log_reopen() opens it again (logrotate);
 *   syslog   syslog(3), ident "unisec", facility daemon, the level as priority.
 * Thread-safe, except engine_log_open(), called before threads start.
 */
#ifndef UNISEC_ENGINE_LOG_H
#define UNISEC_ENGINE_LOG_H

#define ENGINE_LOG_SYSLOG      "syslog"         /* engine_log_open()'s name of syslog */
#define ENGINE_LOG_JOURNAL_ENV "JOURNAL_STREAM" /* systemd: "DEV:INODE" of the journal's stream */

/* Writes one entry. LEVEL is "error", "warning" or "info". */
void engine_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Chooses the sink: DEST NULL or "" stderr, ENGINE_LOG_SYSLOG syslog, else a file. Returns 0
 * or a negative errno (the file cannot be opened or its path is too long; the sink is then
 * unchanged). */
int engine_log_open(const char *dest);

/* Opens the log file again by its path and makes it stderr (after a rotation moved it); for
 * the other sinks, nothing. Async-signal-safe: a SIGHUP handler may call it. Returns 0 or a
 * negative errno (the old file stays in use). */
int engine_log_reopen(void);

#endif
