/*
 * A small DSMR 4/5 P1 decoder in C, as a decoder author might write one, tested by meterlab.
 *
 * Reads the bytes of a P1 port on standard input and prints one JSON line per telegram in
 * meterlab's reading format (docs/reading-format.md): a reading, or an error. C99, libc only:
 *
 *     cc -std=c99 -O2 -Wall -Wextra -o decoder decoder.c
 *
 * Telegrams must end with a four-digit CRC-16/ARC (DSMR 4.x, 5.0, e-MUCS). Not supported: DSMR
 * 2.2/3.0 (no CRC, gas value on a continuation line), Luxembourg Smarty frames (AES-GCM), the
 * X.25 and unpadded CRC variants. examples/decoders/c-dsmr/expect.yaml lists what it does not pass.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GROUPS 128

static const char *TEXT_OBJECTS[] = {"0.2.8",   "96.1.0",  "96.1.1",  "96.1.2",  "96.1.4",
                                     "42.0.0",  "96.13.0", "96.13.1", "96.13.2", "96.13.3",
                                     "96.13.4", "96.13.5", NULL};

/* A piece of the input: not NUL-terminated. */
struct span {
    const char *p;
    size_t n;
};

static int span_eq(struct span s, const char *text) {
    return s.n == strlen(text) && memcmp(s.p, text, s.n) == 0;
}

static unsigned crc16_arc(const unsigned char *p, size_t n) {
    unsigned crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (crc & 1) ? (crc >> 1) ^ 0xA001 : crc >> 1;
    }
    return crc;
}

static void json_string(struct span s) {
    putchar('"');
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void error(const char *kind, const char *message, size_t offset) {
    printf("{\"error\":{\"kind\":\"%s\",\"message\":\"%s\",\"offset\":%zu}}\n", kind, message,
           offset);
}

/* `[+-]digits[.digits]` */
static int is_number(struct span s) {
    size_t i = 0, digits = 0;
    if (i < s.n && (s.p[i] == '+' || s.p[i] == '-'))
        i++;
    while (i < s.n && isdigit((unsigned char)s.p[i]))
        i++, digits++;
    if (digits == 0)
        return 0;
    if (i < s.n && s.p[i] == '.') {
        size_t frac = 0;
        i++;
        while (i < s.n && isdigit((unsigned char)s.p[i]))
            i++, frac++;
        if (frac == 0)
            return 0;
    }
    return i == s.n;
}

/* A number as written, leading zeros dropped: `003432.827` -> `3432.827`. */
static void json_number(struct span s) {
    size_t i = 0;
    if (s.p[0] == '-')
        putchar('-');
    if (s.p[0] == '+' || s.p[0] == '-')
        i++;
    while (i + 1 < s.n && s.p[i] == '0' && s.p[i + 1] != '.')
        i++;
    fwrite(s.p + i, 1, s.n - i, stdout);
}

/* `YYMMDDhhmmss[SW]` as RFC 3339; 0 if it is not a date. */
static int timestamp(struct span s, char out[32]) {
    if (s.n != 12 && s.n != 13)
        return 0;
    for (int i = 0; i < 12; i++)
        if (!isdigit((unsigned char)s.p[i]))
            return 0;
    int mo = (s.p[2] - '0') * 10 + s.p[3] - '0', d = (s.p[4] - '0') * 10 + s.p[5] - '0';
    int h = (s.p[6] - '0') * 10 + s.p[7] - '0', mi = (s.p[8] - '0') * 10 + s.p[9] - '0';
    int sec = (s.p[10] - '0') * 10 + s.p[11] - '0';
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
        return 0;
    const char *offset = "";
    if (s.n == 13) {
        if (s.p[12] == 'S')
            offset = "+02:00";
        else if (s.p[12] == 'W')
            offset = "+01:00";
        else
            return 0;
    }
    snprintf(out, 32, "20%.2s-%.2s-%.2sT%.2s:%.2s:%.2s%s", s.p, s.p + 2, s.p + 4, s.p + 6,
             s.p + 8, s.p + 10, offset);
    return 1;
}

/* `A-B:C.D.E` */
static int is_obis(struct span s) {
    int parts = 0;
    size_t i = 0;
    const char seps[] = "-:..";
    while (parts < 5) {
        size_t digits = 0;
        while (i < s.n && isdigit((unsigned char)s.p[i]))
            i++, digits++;
        if (digits == 0)
            return 0;
        if (parts < 4) {
            if (i >= s.n || s.p[i] != seps[parts])
                return 0;
            i++;
        }
        parts++;
    }
    return i == s.n;
}

static int first_value;

/* One value entry: `(v)` or `(v*unit)` of object `id`, with its own time or none. */
static void value(struct span id, struct span group, const char *time) {
    struct span cde = id, text = group, unit = {NULL, 0};
    const char *colon = memchr(id.p, ':', id.n);
    if (colon) {
        cde.p = colon + 1;
        cde.n = id.n - (size_t)(colon + 1 - id.p);
    }
    const char *star = memchr(group.p, '*', group.n);
    if (star) {
        text.n = (size_t)(star - group.p);
        unit.p = star + 1;
        unit.n = group.n - text.n - 1;
    }
    int is_text = !is_number(text);
    for (int i = 0; TEXT_OBJECTS[i]; i++)
        if (span_eq(cde, TEXT_OBJECTS[i]))
            is_text = 1;
    printf("%s{\"id\":\"%.*s*255\",\"value\":", first_value ? "" : ",", (int)id.n, id.p);
    first_value = 0;
    if (is_text) {
        json_string(group);
    } else {
        json_number(text);
        if (unit.n) {
            printf(",\"unit\":");
            json_string(unit);
        }
    }
    if (time)
        printf(",\"time\":\"%s\"", time);
    putchar('}');
}

/* `hex` decoded to printable ASCII into `out`, or 0. */
static int hex_text(struct span s, char *out, size_t cap) {
    if (s.n == 0 || s.n % 2 || s.n / 2 >= cap)
        return 0;
    for (size_t i = 0; i < s.n; i += 2) {
        char pair[3] = {s.p[i], s.p[i + 1], 0};
        if (!isxdigit((unsigned char)pair[0]) || !isxdigit((unsigned char)pair[1]))
            return 0;
        long c = strtol(pair, NULL, 16);
        if (c < 0x20 || c >= 0x7f)
            return 0;
        out[i / 2] = (char)c;
    }
    out[s.n / 2] = 0;
    return 1;
}

/* Splits `(a)(b)...` into groups; the count, or -1 if the text is not only groups. */
static int split_groups(struct span rest, struct span *gs) {
    int n = 0;
    size_t i = 0;
    while (i < rest.n) {
        if (rest.p[i] != '(' || n == MAX_GROUPS)
            return -1;
        const char *close = memchr(rest.p + i + 1, ')', rest.n - i - 1);
        if (!close)
            return -1;
        gs[n].p = rest.p + i + 1;
        gs[n].n = (size_t)(close - gs[n].p);
        if (memchr(gs[n].p, '(', gs[n].n))
            return -1;
        n++;
        i = (size_t)(close - rest.p) + 1;
    }
    return n;
}

/* Prints the reading of one telegram whose text (from `/` to `!`) is `t`. */
static void reading(struct span t) {
    struct span lines[4096];
    size_t nlines = 0, start = 0;
    for (size_t i = 0; i + 1 < t.n && nlines < 4096; i++) {
        if (t.p[i] == '\r' && t.p[i + 1] == '\n') {
            lines[nlines].p = t.p + start;
            lines[nlines++].n = i - start;
            start = i + 2;
        }
    }
    struct span ident = {t.p + 1, nlines ? lines[0].n - 1 : 0};
    struct span meter_id = {NULL, 0};
    char time[32] = "";
    char decoded[256];
    /* The header first, then the values as they come. */
    for (size_t l = 1; l < nlines; l++) {
        struct span gs[MAX_GROUPS];
        const char *open = memchr(lines[l].p, '(', lines[l].n);
        if (!open)
            continue;
        struct span id = {lines[l].p, (size_t)(open - lines[l].p)};
        struct span rest = {open, lines[l].n - id.n};
        int n = split_groups(rest, gs);
        if (n < 1 || !is_obis(id))
            continue;
        if (span_eq(id, "0-0:1.0.0") && !timestamp(gs[0], time))
            time[0] = 0;
        if ((span_eq(id, "0-0:96.1.1") || span_eq(id, "0-0:42.0.0")) && gs[0].n && !meter_id.n)
            meter_id = gs[0];
    }
    printf("{\"protocol\":\"dsmr\",\"meter_id\":");
    if (meter_id.n && hex_text(meter_id, decoded, sizeof decoded))
        json_string((struct span){decoded, strlen(decoded)});
    else
        json_string(meter_id.n ? meter_id : ident);
    if (time[0])
        printf(",\"time\":\"%s\",\"values\":[", time);
    else
        printf(",\"time\":null,\"values\":[");
    first_value = 1;
    for (size_t l = 1; l < nlines; l++) {
        struct span gs[MAX_GROUPS];
        const char *open = memchr(lines[l].p, '(', lines[l].n);
        if (!open)
            continue;
        struct span id = {lines[l].p, (size_t)(open - lines[l].p)};
        struct span rest = {open, lines[l].n - id.n};
        if (!is_obis(id) || span_eq(id, "0-0:1.0.0"))
            continue;
        int n = split_groups(rest, gs);
        char at[32];
        if (n == 1) {
            value(id, gs[0], NULL);
        } else if (n == 2 && timestamp(gs[0], at)) {
            value(id, gs[1], at);
        } else if (n >= 2 && is_number(gs[0]) && gs[0].p[0] != '-' && gs[0].p[0] != '+') {
            /* A buffer: (count)(id1)...(idk), then count entries of equal size ending in
             * (time)(value); each entry is a value of the last id. */
            int count = atoi(gs[0].p), k = 0;
            while (1 + k < n && is_obis(gs[1 + k]))
                k++;
            int left = n - 1 - k, size = count ? left / count : 0;
            if (k == 0 || (count == 0 && left) || (count && (left % count || size < 2))) {
                value(id, (struct span){rest.p, rest.n}, NULL);
                continue;
            }
            printf("%s{\"id\":\"%.*s*255\",\"value\":%d}", first_value ? "" : ",", (int)id.n,
                   id.p, count);
            first_value = 0;
            for (int e = 0; e < count; e++) {
                struct span *entry = gs + 1 + k + e * size;
                if (!timestamp(entry[size - 2], at))
                    at[0] = 0;
                value(gs[k], entry[size - 1], at[0] ? at : NULL);
            }
        } else {
            /* Any other shape: the groups as sent, as text. */
            printf("%s{\"id\":\"%.*s*255\",\"value\":", first_value ? "" : ",", (int)id.n,
                   id.p);
            first_value = 0;
            json_string(rest);
            putchar('}');
        }
    }
    printf("]}\n");
}

int main(void) {
    size_t cap = 1 << 16, len = 0, got;
    char *data = malloc(cap);
    if (!data)
        return 1;
    while ((got = fread(data + len, 1, cap - len, stdin)) > 0) {
        len += got;
        if (len == cap) {
            char *bigger = realloc(data, cap * 2);
            if (!bigger)
                return 1;
            data = bigger;
            cap *= 2;
        }
    }
    size_t pos = 0;
    while (pos < len) {
        const char *slash = memchr(data + pos, '/', len - pos);
        if (!slash) {
            error("skipped_bytes", "bytes outside telegrams", pos);
            break;
        }
        size_t start = (size_t)(slash - data);
        if (start > pos)
            error("skipped_bytes", "bytes outside telegrams", pos);
        const char *bang = memchr(slash, '!', len - start);
        const char *next = memchr(slash + 1, '/', (bang ? (size_t)(bang - slash) : len - start) - 1);
        if (next) {
            error("truncated", "a new telegram started before the end", start);
            pos = (size_t)(next - data);
            continue;
        }
        if (!bang) {
            error("truncated", "the stream ended inside a telegram", start);
            break;
        }
        size_t end = (size_t)(bang - data) + 1; /* after '!' */
        size_t hex = 0;
        while (end + hex < len && hex < 4 && isxdigit((unsigned char)data[end + hex]))
            hex++;
        if (hex != 4 || end + 6 > len || data[end + 4] != '\r' || data[end + 5] != '\n') {
            error(hex ? "malformed" : "crc_missing", "the telegram does not end in four CRC digits",
                  start);
            pos = end;
            continue;
        }
        char crc_text[5] = {data[end], data[end + 1], data[end + 2], data[end + 3], 0};
        unsigned sent = (unsigned)strtoul(crc_text, NULL, 16);
        pos = end + 6;
        if (crc16_arc((const unsigned char *)slash, end - start) != sent) {
            error("crc_mismatch", "the CRC does not match", start);
            continue;
        }
        reading((struct span){slash, end - start});
    }
    free(data);
    return 0;
}
