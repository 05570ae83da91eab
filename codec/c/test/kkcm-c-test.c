/*
 * Test driver of the generated C codec (built by codec/test/c-support.ts, never shipped).
 * Reads one command per line on standard input and answers one JSON line per command, so that
 * one process serves a whole test file or a differential run of many inputs:
 *
 *   stream MAX VERSION ANY CHANNEL HEX CUTS   frame and decode HEX as a stream, cut into chunks
 *                                             at the comma-separated offsets CUTS ("-": one chunk,
 *                                             "all": byte by byte)
 *   message MAX VERSION ANY CHANNEL HEX       decode HEX as exactly one message
 *
 * VERSION is -1 for none, CHANNEL 0 for none. The answer:
 *   {"messages":[{"offset":N,"same":true,"json":{...}}...],"error":null|{"code":"ERR_..","offset":N}}
 * where "same" says that re-encoding the decoded message gave back its exact bytes.
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

static size_t unhex(const char *s, uint8_t *out)
{
    size_t n = 0;
    while (s[0] != 0 && s[1] != 0) {
        out[n++] = (uint8_t)(hexval(s[0]) * 16 + hexval(s[1]));
        s += 2;
    }
    return n;
}

static char *json;
static size_t jsonCap = 1u << 16;

static void printMessage(const kkcm_message *m, const uint8_t *frame, size_t len, uint64_t offset, int first)
{
    static uint8_t *again;
    static size_t againCap;
    size_t need = kkcm_message_to_json(m, json, jsonCap), written = 0;
    kkcm_error err;
    int same;
    if (need >= jsonCap) {
        jsonCap = need + 1;
        json = realloc(json, jsonCap);
        if (json == NULL) exit(2);
        kkcm_message_to_json(m, json, jsonCap);
    }
    if (againCap < len) {
        againCap = len;
        again = realloc(again, againCap);
        if (again == NULL) exit(2);
    }
    same = kkcm_encode_message(m, again, againCap, &written, &err) == 0 && written == len && memcmp(again, frame, len) == 0;
    printf("%s{\"offset\":%llu,\"same\":%s,\"json\":%s}", first ? "" : ",", (unsigned long long)offset, same ? "true" : "false", json);
}

static void printError(const kkcm_error *e)
{
    const char *name = kkcm_error_name(e->code);
    printf("],\"error\":{\"code\":\"%s\",\"offset\":%llu,\"path\":%s%s%s}}\n", name != NULL ? name : "?",
           (unsigned long long)e->offset, e->path[0] != 0 ? "\"" : "", e->path[0] != 0 ? e->path : "null",
           e->path[0] != 0 ? "\"" : "");
}

static void runStream(const kkcm_decode_options *o, const uint8_t *in, size_t n, const char *cuts)
{
    size_t cap = o->max_message > KKCM_HEADER_SIZE ? o->max_message : KKCM_HEADER_SIZE;
    uint8_t *buf = malloc(cap);
    kkcm_framer f;
    kkcm_error e;
    kkcm_message m;
    size_t start = 0, stop, used;
    int first = 1, bytewise = strcmp(cuts, "all") == 0;
    const char *next = strcmp(cuts, "-") == 0 || bytewise ? NULL : cuts;
    if (buf == NULL) exit(2);
    kkcm_framer_init(&f, buf, cap, o);
    printf("{\"messages\":[");
    for (;;) {
        if (bytewise) stop = start + 1 <= n ? start + 1 : n;
        else if (next != NULL) {
            stop = (size_t)strtoul(next, (char **)&next, 10);
            if (*next == ',') next++;
            else next = NULL;
            if (stop > n) stop = n;
            if (stop < start) stop = start;
        } else stop = n;
        while (start < stop) {
            kkcm_frame frame;
            int rc = kkcm_framer_next(&f, in + start, stop - start, &used, &frame, &e);
            start += used;
            if (rc < 0 || (rc == 1 && kkcm_decode_frame(frame.data, &f.options, frame.offset, &m, &e) != 0)) {
                printError(&e);
                free(buf);
                return;
            }
            if (rc == 1) {
                printMessage(&m, frame.data, frame.len, frame.offset, first);
                first = 0;
            }
        }
        if (start >= n) break;
    }
    if (kkcm_framer_end(&f, &e) != 0) printError(&e);
    else printf("],\"error\":null}\n");
    free(buf);
}

static void runMessage(const kkcm_decode_options *o, const uint8_t *in, size_t n)
{
    kkcm_message m;
    kkcm_error e;
    printf("{\"messages\":[");
    if (kkcm_decode_message(in, n, o, &m, &e) != 0) printError(&e);
    else {
        printMessage(&m, in, n, 0, 1);
        printf("],\"error\":null}\n");
    }
}

int main(void)
{
    static char line[1u << 22], hex[1u << 22];
    static uint8_t bytes[1u << 21];
    json = malloc(jsonCap);
    if (json == NULL) return 2;
    while (fgets(line, sizeof line, stdin) != NULL) {
        char mode[16], cuts[4096];
        unsigned long max;
        long version;
        int any, channel;
        kkcm_decode_options o;
        size_t n;
        strcpy(cuts, "-");
        if (sscanf(line, "%15s %lu %ld %d %d %s %4095s", mode, &max, &version, &any, &channel, hex, cuts) < 6) {
            /* an empty hex is written as "-" */
            fprintf(stderr, "kkcm-c-test: bad command: %s", line);
            return 2;
        }
        kkcm_decode_options_init(&o);
        o.max_message = (uint32_t)max;
        o.version = (int32_t)version;
        o.any_version = any;
        o.channel = (uint8_t)channel;
        n = strcmp(hex, "-") == 0 ? 0 : unhex(hex, bytes);
        if (strcmp(mode, "stream") == 0) runStream(&o, bytes, n, cuts);
        else runMessage(&o, bytes, n);
        fflush(stdout);
    }
    free(json);
    return 0;
}
