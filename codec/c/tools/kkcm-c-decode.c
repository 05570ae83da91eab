/*
 * kkcm-c-decode: the C codec's `kkcm decode`. Reads a byte stream on standard input (raw, or hex
 * text with --hex), frames and decodes it in 4 KiB chunks with the generated C codec, and prints
 * one JSON object per message, {offset, name, header, body}, exactly as `kkcm decode` does, so the
 * two can be compared line by line. A bad message stops decoding: exit 1 and one line on standard
 * error with the error code and byte offset. Built by the tests; not shipped as a binary.
 *
 *   kkcm-c-decode [--hex] [--max-message N] [--version N] [--channel send|receive] < stream
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kkcm.h"

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Reads one chunk of stream bytes: raw, or decoded from hex text (whitespace and colons skipped). */
static size_t readChunk(uint8_t *out, size_t cap, int hex)
{
    size_t n = 0;
    int c, hi = -1;
    if (!hex) return fread(out, 1, cap, stdin);
    while (n < cap && (c = getchar()) != EOF) {
        int v = hexval(c);
        if (v < 0) {
            if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == ':') continue;
            fprintf(stderr, "kkcm-c-decode: ERR_BAD_INPUT: not a hex digit\n");
            exit(1);
        }
        if (hi < 0) hi = v;
        else {
            out[n++] = (uint8_t)(hi * 16 + v);
            hi = -1;
        }
    }
    return n;
}

static int fail(const kkcm_error *e)
{
    const char *name = kkcm_error_name(e->code);
    fprintf(stderr, "kkcm-c-decode: %s at byte %llu%s%s%s\n", name != NULL ? name : "?", (unsigned long long)e->offset,
            e->path[0] != 0 ? " (" : "", e->path[0] != 0 ? e->path : "", e->path[0] != 0 ? ")" : "");
    return 1;
}

int main(int argc, char **argv)
{
    static uint8_t chunk[4096];
    static char json[1u << 20];
    kkcm_decode_options o;
    kkcm_framer f;
    kkcm_message m;
    kkcm_error e;
    uint8_t *buf;
    size_t n, pos, used;
    int i, hex = 0;
    kkcm_decode_options_init(&o);
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--hex") == 0) hex = 1;
        else if (strcmp(argv[i], "--max-message") == 0 && i + 1 < argc) o.max_message = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--version") == 0 && i + 1 < argc) o.version = (int32_t)strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--channel") == 0 && i + 1 < argc) {
            i++;
            o.channel = strcmp(argv[i], "send") == 0 ? KKCM_CHANNEL_SEND : strcmp(argv[i], "receive") == 0 ? KKCM_CHANNEL_RECEIVE : 0;
            if (o.channel == 0) {
                fprintf(stderr, "kkcm-c-decode: --channel must be send or receive\n");
                return 2;
            }
        } else {
            fprintf(stderr, "usage: kkcm-c-decode [--hex] [--max-message N] [--version N] [--channel send|receive] < stream\n");
            return 2;
        }
    }
    buf = malloc(o.max_message > KKCM_HEADER_SIZE ? o.max_message : KKCM_HEADER_SIZE);
    if (buf == NULL || kkcm_framer_init(&f, buf, o.max_message > KKCM_HEADER_SIZE ? o.max_message : KKCM_HEADER_SIZE, &o) != 0) return 2;
    while ((n = readChunk(chunk, sizeof chunk, hex)) > 0) {
        for (pos = 0; pos < n; pos += used) {
            int rc = kkcm_stream_next(&f, chunk + pos, n - pos, &used, &m, &e);
            if (rc < 0) return fail(&e);
            if (rc == 1) {
                size_t len = kkcm_message_to_json(&m, json, sizeof json);
                if (len >= sizeof json) {
                    fprintf(stderr, "kkcm-c-decode: message too large to print\n");
                    return 2;
                }
                printf("{\"offset\":%llu,%s\n", (unsigned long long)(f.offset - m.header.length), json + 1);
            }
        }
    }
    if (kkcm_framer_end(&f, &e) != 0) return fail(&e);
    free(buf);
    return 0;
}
