/* A small recursive-descent parser for integer expressions: + - * / ( ) and unary minus. */
#ifndef QUICKSTART_CALC_H
#define QUICKSTART_CALC_H

#include <ctype.h>

struct calc { const char *p; int err; };

static long calc_expr(struct calc *c);

static void calc_skip(struct calc *c) { while (isspace((unsigned char)*c->p)) c->p++; }

static long calc_atom(struct calc *c) {
    calc_skip(c);
    if (*c->p == '-') { c->p++; return -calc_atom(c); }
    if (*c->p == '(') {
        c->p++;
        long v = calc_expr(c);
        calc_skip(c);
        if (*c->p != ')') { c->err = 1; return 0; }
        c->p++;
        return v;
    }
    if (!isdigit((unsigned char)*c->p)) { c->err = 1; return 0; }
    long v = 0;
    while (isdigit((unsigned char)*c->p)) v = v * 10 + (*c->p++ - '0');
    return v;
}

static long calc_term(struct calc *c) {
    long v = calc_atom(c);
    for (;;) {
        calc_skip(c);
        char op = *c->p;
        if (op != '*' && op != '/') return v;
        c->p++;
        long r = calc_atom(c);
        if (op == '/' && r == 0) { c->err = 1; return 0; }
        v = op == '*' ? v * r : v / r;
    }
}

static long calc_expr(struct calc *c) {
    long v = calc_term(c);
    for (;;) {
        calc_skip(c);
        char op = *c->p;
        if (op != '+' && op != '-') return v;
        c->p++;
        long r = calc_term(c);
        v = op == '+' ? v + r : v - r;
    }
}

/* Evaluates s into *out; returns 0, or -1 on a syntax error or a division by zero. */
static int calc_eval(const char *s, long *out) {
    struct calc c = {s, 0};
    long v = calc_expr(&c);
    calc_skip(&c);
    if (c.err || *c.p) return -1;
    *out = v;
    return 0;
}

#endif
