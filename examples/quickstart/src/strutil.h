/* String helpers under test. Header-only, so each test file is a whole program. */
#ifndef QUICKSTART_STRUTIL_H
#define QUICKSTART_STRUTIL_H

#include <ctype.h>
#include <string.h>

/* Reverses s in place and returns it. Known bug: works on bytes, so it garbles UTF-8. */
static char *str_reverse(char *s) {
    size_t n = strlen(s);
    for (size_t i = 0; i < n / 2; i++) {
        char t = s[i];
        s[i] = s[n - 1 - i];
        s[n - 1 - i] = t;
    }
    return s;
}

/* Strips leading and trailing ASCII whitespace in place; returns the trimmed start. */
static char *str_trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

/* Counts the fields of s separated by sep (an empty string has one empty field). */
static int str_count_fields(const char *s, char sep) {
    int n = 1;
    for (; *s; s++) n += *s == sep;
    return n;
}

#endif
