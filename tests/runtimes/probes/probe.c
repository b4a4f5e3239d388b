/* One WASI probe with many modes, picked by argv[1]; used by the runtime adapter tests.
 *
 *   args                 print each argv entry on its own line
 *   env                  print each environ entry on its own line
 *   exit N               exit with status N
 *   write N              write N bytes of 'o' to stdout and N of 'e' to stderr
 *   cat                  copy stdin to stdout
 *   touch PATH TEXT      create PATH holding TEXT
 *   read PATH            print the contents of PATH
 *   loop                 spin forever
 *   sleep S              sleep S seconds (blocks inside a WASI call)
 *   membomb              malloc 1 MiB blocks until malloc fails, then exit 42
 *   trap                 __builtin_trap()
 *   recurse              recurse until the stack runs out
 *   oob                  store far beyond the end of memory
 *   clock                print the monotonic clock's resolution in ns
 *   close-stdout         close fd 1, then exit 0
 *   leak-fd PATH         open PATH and never close it
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static volatile unsigned sink;

static unsigned recurse(unsigned depth) {
    volatile char frame[256];
    frame[depth % sizeof frame] = (char)depth;
    return recurse(depth + 1) + frame[(depth * 7) % sizeof frame];
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "args")) {
        for (int i = 0; i < argc; i++) printf("%s\n", argv[i]);
    } else if (!strcmp(mode, "env")) {
        for (char **e = environ; *e; e++) printf("%s\n", *e);
    } else if (!strcmp(mode, "exit") && argc > 2) {
        exit(atoi(argv[2]));
    } else if (!strcmp(mode, "write") && argc > 2) {
        long n = atol(argv[2]);
        for (long i = 0; i < n; i++) putchar('o');
        for (long i = 0; i < n; i++) fputc('e', stderr);
    } else if (!strcmp(mode, "cat")) {
        int c;
        while ((c = getchar()) != EOF) putchar(c);
    } else if (!strcmp(mode, "touch") && argc > 3) {
        FILE *f = fopen(argv[2], "w");
        if (!f) { perror(argv[2]); return 2; }
        fputs(argv[3], f);
        fclose(f);
    } else if (!strcmp(mode, "read") && argc > 2) {
        FILE *f = fopen(argv[2], "r");
        if (!f) { perror(argv[2]); return 2; }
        int c;
        while ((c = fgetc(f)) != EOF) putchar(c);
        fclose(f);
    } else if (!strcmp(mode, "loop")) {
        for (;;) sink++;
    } else if (!strcmp(mode, "sleep") && argc > 2) {
        sleep((unsigned)atoi(argv[2]));
    } else if (!strcmp(mode, "membomb")) {
        /* chained through their first word so the compiler cannot drop the allocations */
        void **head = NULL;
        unsigned long total = 0;
        for (;;) {
            void **p = malloc(1 << 20);
            if (!p) break;
            memset(p, 1, 1 << 20);
            *p = head;
            head = p;
            total++;
        }
        sink = (unsigned)(uintptr_t)head;
        printf("%lu\n", total);
        return 42;
    } else if (!strcmp(mode, "trap")) {
        __builtin_trap();
    } else if (!strcmp(mode, "recurse")) {
        return (int)recurse(0);
    } else if (!strcmp(mode, "oob")) {
        *(volatile int *)(uintptr_t)0xfffffff0u = 1;
    } else if (!strcmp(mode, "clock")) {
        struct timespec res;
        clock_getres(CLOCK_MONOTONIC, &res);
        printf("%ld\n", (long)res.tv_sec * 1000000000L + res.tv_nsec);
    } else if (!strcmp(mode, "close-stdout")) {
        close(1);
    } else if (!strcmp(mode, "leak-fd") && argc > 2) {
        FILE *f = fopen(argv[2], "r");
        if (!f) { perror(argv[2]); return 2; }
    } else {
        fprintf(stderr, "unknown mode: %s\n", mode);
        return 64;
    }
    return 0;
}
