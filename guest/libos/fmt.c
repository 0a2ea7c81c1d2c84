/* fmt.c — the guest's formatted output: vsnprintf and snprintf (integers, strings, pointers). */
#include "libos.h"

struct fmt_out {
    char *buf;
    size_t size; /* capacity of buf */
    size_t len;  /* untruncated length so far */
};

static void fmt_put(struct fmt_out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void fmt_repeat(struct fmt_out *o, char c, int n)
{
    for (; n > 0; n--)
        fmt_put(o, c);
}

struct fmt_spec {
    int left, zero, plus, space, alt;
    int width, prec; /* prec < 0: none */
};

/* One converted field: PREFIX (sign, 0x), zero padding to precision, DIGITS. */
static void fmt_field(struct fmt_out *o, const struct fmt_spec *sp, const char *prefix,
                      const char *digits, int ndigits)
{
    int plen = (int)strlen(prefix);
    int zeros = sp->prec > ndigits ? sp->prec - ndigits : 0;
    int body = plen + zeros + ndigits;
    int pad = sp->width > body ? sp->width - body : 0;
    if (!sp->left && !(sp->zero && sp->prec < 0))
        fmt_repeat(o, ' ', pad);
    for (int i = 0; i < plen; i++)
        fmt_put(o, prefix[i]);
    if (!sp->left && sp->zero && sp->prec < 0)
        fmt_repeat(o, '0', pad);
    fmt_repeat(o, '0', zeros);
    for (int i = 0; i < ndigits; i++)
        fmt_put(o, digits[i]);
    if (sp->left)
        fmt_repeat(o, ' ', pad);
}

static void fmt_unsigned(struct fmt_out *o, const struct fmt_spec *sp, unsigned long long v,
                         unsigned base, int upper, const char *prefix)
{
    char tmp[24];
    int n = sizeof(tmp);
    const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    while (v != 0) {
        tmp[--n] = dig[v % base];
        v /= base;
    }
    if (n == (int)sizeof(tmp) && sp->prec != 0)
        tmp[--n] = '0';
    fmt_field(o, sp, prefix, tmp + n, (int)sizeof(tmp) - n);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct fmt_out o = {buf, size, 0};
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            fmt_put(&o, *p);
            continue;
        }
        struct fmt_spec sp = {0, 0, 0, 0, 0, 0, -1};
        for (;; p++) {
            if (p[1] == '-')
                sp.left = 1;
            else if (p[1] == '0')
                sp.zero = 1;
            else if (p[1] == '+')
                sp.plus = 1;
            else if (p[1] == ' ')
                sp.space = 1;
            else if (p[1] == '#')
                sp.alt = 1;
            else
                break;
        }
        p++;
        if (*p == '*') {
            sp.width = va_arg(ap, int);
            if (sp.width < 0) {
                sp.left = 1;
                sp.width = -sp.width;
            }
            p++;
        } else {
            for (; *p >= '0' && *p <= '9'; p++)
                sp.width = sp.width * 10 + (*p - '0');
        }
        if (*p == '.') {
            p++;
            sp.prec = 0;
            if (*p == '*') {
                sp.prec = va_arg(ap, int);
                p++;
            } else {
                for (; *p >= '0' && *p <= '9'; p++)
                    sp.prec = sp.prec * 10 + (*p - '0');
            }
        }
        int lng = 0; /* -2 hh, -1 h, 1 l, 2 ll, 3 size_t and friends */
        for (;; p++) {
            if (*p == 'h')
                lng = lng == -1 ? -2 : -1;
            else if (*p == 'l')
                lng = lng == 1 ? 2 : 1;
            else if (*p == 'z' || *p == 'j' || *p == 't')
                lng = 3;
            else
                break;
        }
        switch (*p) {
        case 'd':
        case 'i': {
            long long v = lng >= 2   ? va_arg(ap, long long)
                          : lng == 1 ? va_arg(ap, long)
                                     : va_arg(ap, int);
            if (lng == -1)
                v = (short)v;
            else if (lng == -2)
                v = (signed char)v;
            unsigned long long mag = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
            const char *sign = v < 0 ? "-" : sp.plus ? "+" : sp.space ? " " : "";
            fmt_unsigned(&o, &sp, mag, 10, 0, sign);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'o': {
            unsigned long long v = lng >= 2   ? va_arg(ap, unsigned long long)
                                   : lng == 1 ? va_arg(ap, unsigned long)
                                              : va_arg(ap, unsigned);
            if (lng == -1)
                v = (unsigned short)v;
            else if (lng == -2)
                v = (unsigned char)v;
            unsigned base = *p == 'u' ? 10 : *p == 'o' ? 8 : 16;
            const char *prefix = !sp.alt || v == 0 ? ""
                                 : *p == 'x'       ? "0x"
                                 : *p == 'X'       ? "0X"
                                 : *p == 'o'       ? "0"
                                                   : "";
            fmt_unsigned(&o, &sp, v, base, *p == 'X', prefix);
            break;
        }
        case 'p': {
            void *v = va_arg(ap, void *);
            fmt_unsigned(&o, &sp, (uintptr_t)v, 16, 0, "0x");
            break;
        }
        case 'c': {
            char c = (char)va_arg(ap, int);
            sp.prec = -1;
            sp.zero = 0;
            fmt_field(&o, &sp, "", &c, 1);
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (s == NULL)
                s = "(null)";
            int n = (int)strnlen(s, sp.prec >= 0 ? (size_t)sp.prec : (size_t)-1 >> 1);
            sp.prec = -1;
            sp.zero = 0;
            fmt_field(&o, &sp, "", s, n);
            break;
        }
        case '%':
            fmt_put(&o, '%');
            break;
        default: /* unknown conversion: print it as written, so the mistake shows */
            fmt_put(&o, '%');
            if (*p == 0)
                p--;
            else
                fmt_put(&o, *p);
            break;
        }
    }
    if (size > 0)
        buf[o.len < size ? o.len : size - 1] = 0;
    return o.len > 0x7fffffff ? 0x7fffffff : (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
