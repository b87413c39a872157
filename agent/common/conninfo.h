/*
 * conninfo.h: checks on a configured libpq connection string before it is
 * used, handed to hooks or written into a standby's primary_conninfo.
 */
#ifndef ORGUARD_CONNINFO_H
#define ORGUARD_CONNINFO_H

/*
 * NULL when conninfo (key=value pairs, a postgresql:// URI or a plain
 * database name) carries no password; else why it is refused, never
 * quoting the string itself.
 */
const char *conninfo_password_problem(const char *conninfo);

#endif
