/*
 * banned.h - turns unbounded string functions into compile errors.
 *
 * Included last by vg.h, so every vigil source file gets it. Use the
 * length-carrying vg_buf_t, snprintf or memcpy with an explicit size instead.
 */
#ifndef VG_BANNED_H
#define VG_BANNED_H

#define VG_BANNED(func) sorry_##func##_is_banned_in_vigil

#undef strcpy
#define strcpy(x, y) VG_BANNED(strcpy)
#undef strcat
#define strcat(x, y) VG_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) VG_BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) VG_BANNED(strncat)
#undef sprintf
#define sprintf(...) VG_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) VG_BANNED(vsprintf)
#undef gets
#define gets(x) VG_BANNED(gets)
#undef strtok
#define strtok(x, y) VG_BANNED(strtok)

#endif
