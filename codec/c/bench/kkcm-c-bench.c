/*
 * kkcm-c-bench: the generated C codec's side of `npm run bench:codec`. Reads three hex lines on
 * standard input (the ACK, the 256-byte PACKET, the stream of PACKETs that the TypeScript cases
 * use), checks that the codec decodes and re-encodes them exactly, then times each case with
 * clock_gettime: calibrated to batches of about 1 ms, a warm-up, rounds interleaved across
 * cases. Prints one JSON object: the decoded ACK and PACKET (JSON form, for the caller's
 * self-check) and each case's ops/s per round. Built by codec/bench/codec-bench.ts with gcc -O2.
 *
 *   kkcm-c-bench [--smoke] [--rounds N] [--round-ms MS] [--warmup-ms MS] [--chunk BYTES] < hex
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "kkcm.h"

#define MAX_ROUNDS 100

/* Where results go so that the compiler must compute them. */
static volatile uint64_t sink;

static uint8_t *ack, *pkt, *stream;
static size_t ackLen, pktLen, streamLen, chunkBytes = 1460, streamMessages;
static kkcm_message ackMsg, pktMsg;
static uint8_t out[1u << 16];
static uint8_t framerBuf[KKCM_LIMIT_DEFAULT_MAX_MESSAGE];
static kkcm_framer framer;
static kkcm_decode_options options;

static void die(const char *what)
{
    fprintf(stderr, "kkcm-c-bench: %s\n", what);
    exit(1);
}

static uint8_t *readHexLine(size_t *len)
{
    size_t cap = 1024, n = 0;
    int c, hi = -1;
    uint8_t *b = malloc(cap);
    if (b == NULL) die("out of memory");
    while ((c = getchar()) != EOF && c != '\n') {
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0) die("not a hex digit");
        if (hi < 0) {
            hi = v;
            continue;
        }
        if (n == cap) {
            cap *= 2;
            b = realloc(b, cap);
            if (b == NULL) die("out of memory");
        }
        b[n++] = (uint8_t)(hi * 16 + v);
        hi = -1;
    }
    *len = n;
    return b;
}

static void decodeOne(const uint8_t *b, size_t len)
{
    kkcm_message m;
    if (kkcm_decode_message(b, len, &options, &m, NULL) != 0) die("decode failed");
    sink += m.header.seq;
}

static void encodeOne(const kkcm_message *m)
{
    size_t written;
    if (kkcm_encode_message(m, out, sizeof out, &written, NULL) != 0) die("encode failed");
    sink += out[written - 1];
}

static void runDecodeAck(unsigned long n)
{
    while (n-- > 0) decodeOne(ack, ackLen);
}

static void runDecodePacket(unsigned long n)
{
    while (n-- > 0) decodeOne(pkt, pktLen);
}

static void runEncodeAck(unsigned long n)
{
    while (n-- > 0) encodeOne(&ackMsg);
}

static void runEncodePacket(unsigned long n)
{
    while (n-- > 0) encodeOne(&pktMsg);
}

/* Decode alone: each message of the stream where it lies. */
static void runStreamDecode(unsigned long n)
{
    size_t at;
    while (n-- > 0)
        for (at = 0; at < streamLen; at += pktLen) decodeOne(stream + at, pktLen);
}

/* Framing and decoding in one pass over chunks of chunkBytes (kkcm_stream_next). */
static void runFramerDecode(unsigned long n)
{
    size_t c, pos, used, len;
    kkcm_message m;
    while (n-- > 0)
        for (c = 0; c < streamLen; c += chunkBytes) {
            len = streamLen - c < chunkBytes ? streamLen - c : chunkBytes;
            for (pos = 0; pos < len; pos += used) {
                int rc = kkcm_stream_next(&framer, stream + c + pos, len - pos, &used, &m, NULL);
                if (rc < 0) die("stream decode failed");
                if (rc == 1) sink += m.header.seq;
            }
        }
}

/* The framer alone on the same chunks. */
static void runFramer(unsigned long n)
{
    size_t c, pos, used, len;
    kkcm_frame f;
    while (n-- > 0)
        for (c = 0; c < streamLen; c += chunkBytes) {
            len = streamLen - c < chunkBytes ? streamLen - c : chunkBytes;
            for (pos = 0; pos < len; pos += used) {
                int rc = kkcm_framer_next(&framer, stream + c + pos, len - pos, &used, &f, NULL);
                if (rc < 0) die("framing failed");
                if (rc == 1) sink += f.len;
            }
        }
}

typedef struct bench_case {
    const char *name;
    void (*run)(unsigned long n);
    int stream; /* one iteration is streamMessages messages */
    unsigned long batch;
    double rounds[MAX_ROUNDS];
} bench_case;

static bench_case cases[] = {
    {"decode-ack", runDecodeAck, 0, 0, {0}},
    {"decode-packet", runDecodePacket, 0, 0, {0}},
    {"encode-ack", runEncodeAck, 0, 0, {0}},
    {"encode-packet", runEncodePacket, 0, 0, {0}},
    {"stream-decode", runStreamDecode, 1, 0, {0}},
    {"framer+decode", runFramerDecode, 1, 0, {0}},
    {"framer", runFramer, 1, 0, {0}},
};
#define NCASES (sizeof cases / sizeof cases[0])

static double nowMs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Runs c for about ms milliseconds in batches; returns messages per second. */
static double timed(bench_case *c, double ms)
{
    unsigned long iterations = 0;
    double start = nowMs(), elapsed;
    do {
        c->run(c->batch);
        iterations += c->batch;
        elapsed = nowMs() - start;
    } while (elapsed < ms);
    return (double)iterations * (double)(c->stream ? streamMessages : 1u) * 1000.0 / elapsed;
}

static void printJson(const char *key, const kkcm_message *m)
{
    static char json[1u << 16];
    if (kkcm_message_to_json(m, json, sizeof json) >= sizeof json) die("JSON too large");
    printf("\"%s\":%s,", key, json);
}

int main(int argc, char **argv)
{
    int i, r, smoke = 0, rounds = 10;
    double roundMs = 150, warmupMs = 300;
    size_t k, written;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--smoke") == 0) smoke = 1;
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--round-ms") == 0 && i + 1 < argc) roundMs = atof(argv[++i]);
        else if (strcmp(argv[i], "--warmup-ms") == 0 && i + 1 < argc) warmupMs = atof(argv[++i]);
        else if (strcmp(argv[i], "--chunk") == 0 && i + 1 < argc) chunkBytes = (size_t)atol(argv[++i]);
        else die("usage: kkcm-c-bench [--smoke] [--rounds N] [--round-ms MS] [--warmup-ms MS] [--chunk BYTES] < hex");
    }
    if (smoke) rounds = 1;
    kkcm_decode_options_init(&options);
    if (rounds < 1 || rounds > MAX_ROUNDS || chunkBytes == 0) die("bad settings");
    ack = readHexLine(&ackLen);
    pkt = readHexLine(&pktLen);
    stream = readHexLine(&streamLen);
    if (pktLen == 0 || streamLen % pktLen != 0) die("the stream is not whole PACKETs");
    streamMessages = streamLen / pktLen;

    /* Self-check: each message decodes and re-encodes to its bytes; the stream frames whole. */
    if (kkcm_decode_message(ack, ackLen, &options, &ackMsg, NULL) != 0) die("ACK does not decode");
    if (kkcm_decode_message(pkt, pktLen, &options, &pktMsg, NULL) != 0) die("PACKET does not decode");
    if (kkcm_encode_message(&ackMsg, out, sizeof out, &written, NULL) != 0 || written != ackLen ||
        memcmp(out, ack, ackLen) != 0)
        die("ACK does not re-encode to its bytes");
    if (kkcm_encode_message(&pktMsg, out, sizeof out, &written, NULL) != 0 || written != pktLen ||
        memcmp(out, pkt, pktLen) != 0)
        die("PACKET does not re-encode to its bytes");
    if (kkcm_framer_init(&framer, framerBuf, sizeof framerBuf, &options) != 0) die("framer init failed");
    sink = 0;
    runFramerDecode(1);
    if (framer.offset != streamLen || framer.fill != 0) die("the stream does not frame whole");

    for (k = 0; k < NCASES; k++) {
        bench_case *c = &cases[k];
        if (smoke) {
            double start = nowMs(), elapsed;
            c->batch = 5;
            c->run(c->batch);
            elapsed = nowMs() - start;
            if (elapsed < 0.001) elapsed = 0.001;
            c->rounds[0] = 5.0 * (double)(c->stream ? streamMessages : 1u) * 1000.0 / elapsed;
            continue;
        }
        for (c->batch = 1;; c->batch *= 2) {
            double start = nowMs();
            c->run(c->batch);
            if (nowMs() - start >= 1 || c->batch >= 1ul << 24) break;
        }
        (void)timed(c, warmupMs);
    }
    if (!smoke)
        for (r = 0; r < rounds; r++)
            for (k = 0; k < NCASES; k++) cases[k].rounds[r] = timed(&cases[k], roundMs);

    printf("{");
    printJson("ack", &ackMsg);
    printJson("packet", &pktMsg);
    printf("\"streamMessages\":%lu,\"cases\":[", (unsigned long)streamMessages);
    for (k = 0; k < NCASES; k++) {
        printf("%s{\"name\":\"%s\",\"rounds\":[", k == 0 ? "" : ",", cases[k].name);
        for (r = 0; r < rounds; r++) printf("%s%.1f", r == 0 ? "" : ",", cases[k].rounds[r]);
        printf("]}");
    }
    printf("]}\n");
    return sink == 0xffffffffffffffffu ? 3 : 0;
}
