/* lob_moldtx.h: a MoldUDP64 publisher of a message store (an ITCH file in
 * memory), and its re-request server; two pthreads, no Python.
 *
 * Message i of the store (0-based) has sequence number i + 1.  The live
 * thread cuts the stream into packets of at most `packet_size` bytes (and at
 * most `max_per_packet` messages, 0 = no cap), so packet boundaries depend
 * only on the store and these two settings, and sends them to the connected
 * live socket at `rate` messages/s (each packet when its first message is due;
 * 0 = as fast as the socket takes them), a heartbeat (count 0) whenever it has
 * sent nothing for `heartbeat_ns`, and after the last message end-of-session
 * packets (count 0xFFFF) every `eos_interval_ns` until no request has come
 * for `linger_ns` (at most `max_linger_ns`).
 *
 * For tests, each live packet is dropped with probability `drop`, else held
 * back behind the next one with probability `reorder`, and sent twice (the
 * copy after the next packet) with probability `duplicate`; the draws come
 * from splitmix64 seeded with (seed, the packet's first sequence number), so
 * the same seed drops the same packets whatever the timing.  Heartbeats,
 * end-of-session packets and retransmissions are dropped with the same
 * probability, from their own seeded streams.
 *
 * The request thread answers each request packet (session, first sequence,
 * count) for messages already published with ordinary downstream packets,
 * as many as the count needs, sent to the request's source address.
 */
#ifndef LOB_MOLDTX_H
#define LOB_MOLDTX_H

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "lob_mold.h"
#include "lob_moldrx.h"     /* lob_clock_ns, LOB_ADD / LOB_LOAD */
#include "lob_rng.h"

#define LOB_TX_MAX_DGRAM 65507   /* the largest UDP payload over IPv4 */

typedef struct {
    uint64_t packets;         /* live data packets sent (a duplicate counts once more) */
    uint64_t messages;        /* live messages sent */
    uint64_t dropped;         /* packets dropped on purpose (any kind) */
    uint64_t reordered;
    uint64_t duplicated;
    uint64_t heartbeats;
    uint64_t eos;             /* end-of-session packets sent */
    uint64_t requests;        /* valid request packets served */
    uint64_t bad_requests;    /* wrong size, wrong session, sequence 0, count 0 */
    uint64_t response_packets;
    uint64_t retransmitted;   /* messages sent in answers */
    uint64_t send_errors;     /* sends the kernel refused (no listener yet, buffer full) */
} lob_tx_counts;

typedef struct {
    /* configuration: set before lob_tx_start, read-only after */
    const unsigned char *data;   /* the store: message blocks (u16 length + payload) back to back */
    const uint64_t *offs;        /* n + 1 offsets: message i is data[offs[i]:offs[i+1]] */
    uint64_t n;
    int fd_live, fd_req;         /* the live socket is connected to the stream's address */
    unsigned char session[LOB_MOLD_SESSION];
    double rate;
    uint64_t start_seq, end_seq; /* the live stream sends [start_seq, end_seq) */
    uint32_t packet_size, max_per_packet;
    double drop, reorder, duplicate;
    uint64_t seed;
    uint64_t heartbeat_ns, eos_interval_ns, linger_ns, max_linger_ns;
    /* shared */
    uint64_t next_seq;           /* every sequence number below it has been published */
    uint64_t last_request_ns;
    int stop, live_done, error;
    lob_tx_counts c;
    /* private */
    pthread_t live, req;
    int live_started, req_started;
    unsigned char live_buf[LOB_TX_MAX_DGRAM];
    unsigned char held_buf[LOB_TX_MAX_DGRAM];   /* a reordered or duplicated packet, sent after the next */
    size_t held_len;
    unsigned char req_buf[LOB_TX_MAX_DGRAM];
} lob_tx;

/* Messages from seq (1-based) that go in one packet, at most `limit`. */
static inline uint32_t lob_tx_fit(const lob_tx *tx, uint64_t seq, uint64_t limit, size_t *bytes) {
    uint64_t i = seq - 1, last = seq - 1 + limit, start = tx->offs[seq - 1];
    uint32_t k = 0, cap = tx->max_per_packet ? tx->max_per_packet : 0xFFFE;
    size_t room = tx->packet_size > LOB_MOLD_HEADER ? tx->packet_size - LOB_MOLD_HEADER : 0;
    if (last > tx->n)
        last = tx->n;
    while (i < last && k < cap) {
        if (tx->offs[i + 1] - start > room && k > 0)
            break;
        i++;
        k++;
    }
    *bytes = (size_t)(tx->offs[i] - start);
    return k;
}

static inline size_t lob_tx_build(const lob_tx *tx, unsigned char *buf, uint64_t seq, uint32_t k, size_t bytes) {
    lob_mold_put_header(buf, tx->session, seq, (uint16_t)k);
    memcpy(buf + LOB_MOLD_HEADER, tx->data + tx->offs[seq - 1], bytes);
    return LOB_MOLD_HEADER + bytes;
}

static inline void lob_tx_send(lob_tx *tx, int fd, const unsigned char *buf, size_t len,
                               const struct sockaddr *to, socklen_t tolen) {
    ssize_t got = to ? sendto(fd, buf, len, 0, to, tolen) : send(fd, buf, len, 0);
    if (got < 0)
        LOB_ADD(tx->c.send_errors, 1);
}

static inline int lob_tx_chance(lob_rng *r, double p) { return p > 0 && lob_rng_uniform(r) < p; }

/* A heartbeat (count 0) or end of session (0xFFFF) naming the next sequence. */
static inline void lob_tx_control(lob_tx *tx, lob_rng *r, uint16_t count) {
    unsigned char pkt[LOB_MOLD_HEADER];
    if (lob_tx_chance(r, tx->drop)) {
        LOB_ADD(tx->c.dropped, 1);
        return;
    }
    lob_mold_put_header(pkt, tx->session, LOB_LOAD(tx->next_seq), count);
    lob_tx_send(tx, tx->fd_live, pkt, sizeof(pkt), NULL, 0);
    if (count == LOB_MOLD_EOS)
        LOB_ADD(tx->c.eos, 1);
    else
        LOB_ADD(tx->c.heartbeats, 1);
}

static inline void lob_tx_flush_held(lob_tx *tx) {
    if (tx->held_len) {
        lob_tx_send(tx, tx->fd_live, tx->held_buf, tx->held_len, NULL, 0);
        tx->held_len = 0;
    }
}

/* Sleep until CLOCK_MONOTONIC `until` (ns), in steps short enough to see stop. */
static inline void lob_tx_sleep_until(lob_tx *tx, uint64_t until) {
    uint64_t now;
    while (!__atomic_load_n(&tx->stop, __ATOMIC_ACQUIRE) && (now = lob_clock_ns(CLOCK_MONOTONIC)) < until) {
        uint64_t step = until - now;
        lob_sleep_ns(step < 50000000u ? step : 50000000u);
    }
}

static void *lob_tx_live_main(void *arg) {
    lob_tx *tx = (lob_tx *)arg;
    uint64_t seq = tx->start_seq, t0, due, now, last_send, eos_start, quiet_since;
    uint32_t k;
    size_t bytes, len;
    lob_rng control = {tx->seed ^ 0xC2B2AE3D27D4EB4Full};
#ifdef __linux__
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);   /* 1 us: pacing at 100k msg/s needs short sleeps */
#endif
    t0 = last_send = lob_clock_ns(CLOCK_MONOTONIC);
    while (seq < tx->end_seq && !__atomic_load_n(&tx->stop, __ATOMIC_ACQUIRE)) {
        k = lob_tx_fit(tx, seq, tx->end_seq - seq, &bytes);
        if (tx->rate > 0) {
            due = t0 + (uint64_t)((double)(seq - tx->start_seq) * 1e9 / tx->rate);
            while ((now = lob_clock_ns(CLOCK_MONOTONIC)) < due && !__atomic_load_n(&tx->stop, __ATOMIC_ACQUIRE)) {
                if (now - last_send >= tx->heartbeat_ns) {
                    lob_tx_flush_held(tx);
                    lob_tx_control(tx, &control, LOB_MOLD_HEARTBEAT);
                    last_send = now;
                }
                lob_tx_sleep_until(tx, due < last_send + tx->heartbeat_ns ? due : last_send + tx->heartbeat_ns);
            }
        }
        len = lob_tx_build(tx, tx->live_buf, seq, k, bytes);
        {
            lob_rng r = {tx->seed ^ (seq * 0x9E3779B97F4A7C15ull)};
            int drop = lob_tx_chance(&r, tx->drop);
            int hold = !drop && lob_tx_chance(&r, tx->reorder);
            int twice = !drop && lob_tx_chance(&r, tx->duplicate);
            seq += k;
            __atomic_store_n(&tx->next_seq, seq, __ATOMIC_RELEASE);   /* published, even if dropped */
            LOB_ADD(tx->c.messages, k);
            if (drop) {
                LOB_ADD(tx->c.dropped, 1);
            } else if (hold && tx->held_len == 0) {
                memcpy(tx->held_buf, tx->live_buf, len);
                tx->held_len = len;
                LOB_ADD(tx->c.reordered, 1);
                LOB_ADD(tx->c.packets, 1);
            } else {
                lob_tx_send(tx, tx->fd_live, tx->live_buf, len, NULL, 0);
                LOB_ADD(tx->c.packets, 1);
                lob_tx_flush_held(tx);
                if (twice) {
                    memcpy(tx->held_buf, tx->live_buf, len);
                    tx->held_len = len;
                    LOB_ADD(tx->c.duplicated, 1);
                    LOB_ADD(tx->c.packets, 1);
                }
            }
        }
        last_send = lob_clock_ns(CLOCK_MONOTONIC);
    }
    lob_tx_flush_held(tx);
    if (seq >= tx->end_seq && tx->end_seq == tx->n + 1) {
        eos_start = lob_clock_ns(CLOCK_MONOTONIC);
        while (!__atomic_load_n(&tx->stop, __ATOMIC_ACQUIRE)) {
            lob_tx_control(tx, &control, LOB_MOLD_EOS);
            now = lob_clock_ns(CLOCK_MONOTONIC);
            quiet_since = LOB_LOAD(tx->last_request_ns);
            if (quiet_since < eos_start)
                quiet_since = eos_start;
            if (now - quiet_since >= tx->linger_ns || now - eos_start >= tx->max_linger_ns)
                break;
            lob_tx_sleep_until(tx, now + tx->eos_interval_ns);
        }
    }
    __atomic_store_n(&tx->live_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void *lob_tx_req_main(void *arg) {
    lob_tx *tx = (lob_tx *)arg;
    struct pollfd pfd;
    struct sockaddr_storage src;
    socklen_t srclen;
    ssize_t got;
    uint64_t seq, last, published;
    uint32_t k;
    size_t bytes, len;
    unsigned char pkt[64];
    lob_rng r = {tx->seed ^ 0x165667B19E3779F9ull};
    pfd.fd = tx->fd_req;
    pfd.events = POLLIN;
    while (!__atomic_load_n(&tx->stop, __ATOMIC_ACQUIRE)) {
        if (poll(&pfd, 1, 20) <= 0)
            continue;
        srclen = sizeof(src);
        got = recvfrom(tx->fd_req, pkt, sizeof(pkt), MSG_DONTWAIT, (struct sockaddr *)&src, &srclen);
        if (got < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNREFUSED) {
                __atomic_store_n(&tx->error, errno, __ATOMIC_RELEASE);
                break;
            }
            continue;
        }
        if (got != LOB_MOLD_HEADER || memcmp(pkt, tx->session, LOB_MOLD_SESSION) != 0) {
            LOB_ADD(tx->c.bad_requests, 1);
            continue;
        }
        seq = lob_be64(pkt + 10);
        k = lob_be16(pkt + 18);
        if (seq == 0 || k == 0 || k == LOB_MOLD_EOS) {
            LOB_ADD(tx->c.bad_requests, 1);
            continue;
        }
        LOB_ADD(tx->c.requests, 1);
        __atomic_store_n(&tx->last_request_ns, lob_clock_ns(CLOCK_MONOTONIC), __ATOMIC_RELAXED);
        published = __atomic_load_n(&tx->next_seq, __ATOMIC_ACQUIRE);
        last = seq + k < seq ? published : seq + k;       /* what was asked, capped at what was published */
        if (last > published)
            last = published;
        while (seq < last && !__atomic_load_n(&tx->stop, __ATOMIC_ACQUIRE)) {
            k = lob_tx_fit(tx, seq, last - seq, &bytes);
            if (lob_tx_chance(&r, tx->drop)) {
                LOB_ADD(tx->c.dropped, 1);
            } else {
                len = lob_tx_build(tx, tx->req_buf, seq, k, bytes);
                lob_tx_send(tx, tx->fd_req, tx->req_buf, len, (struct sockaddr *)&src, srclen);
                LOB_ADD(tx->c.response_packets, 1);
                LOB_ADD(tx->c.retransmitted, k);
            }
            seq += k;
        }
    }
    return NULL;
}

/* 0, or the pthread_create error (both threads or neither run). */
static inline int lob_tx_start(lob_tx *tx) {
    int err;
    tx->next_seq = tx->start_seq;
    err = pthread_create(&tx->req, NULL, lob_tx_req_main, tx);
    if (err)
        return err;
    tx->req_started = 1;
    err = pthread_create(&tx->live, NULL, lob_tx_live_main, tx);
    if (err) {
        __atomic_store_n(&tx->stop, 1, __ATOMIC_RELEASE);
        pthread_join(tx->req, NULL);
        tx->req_started = 0;
        return err;
    }
    tx->live_started = 1;
    return 0;
}

static inline void lob_tx_stop(lob_tx *tx) {
    __atomic_store_n(&tx->stop, 1, __ATOMIC_RELEASE);
    if (tx->live_started) {
        pthread_join(tx->live, NULL);
        tx->live_started = 0;
    }
    if (tx->req_started) {
        pthread_join(tx->req, NULL);
        tx->req_started = 0;
    }
}

/* Index a store of message blocks: fills offs (n + 1 entries, caller-sized
 * by a first call with offs NULL) and returns the message count, or -1 - the
 * byte offset of a block that runs past the end or is too long for a packet. */
static inline int64_t lob_tx_index(const unsigned char *data, uint64_t size, uint64_t *offs) {
    uint64_t pos = 0, n = 0, len;
    while (pos < size) {
        if (pos + 2 > size)
            return -1 - (int64_t)pos;
        len = lob_be16(data + pos);
        if (pos + 2 + len > size || 2 + len > LOB_TX_MAX_DGRAM - LOB_MOLD_HEADER)
            return -1 - (int64_t)pos;
        if (offs)
            offs[n] = pos;
        pos += 2 + len;
        n++;
    }
    if (offs)
        offs[n] = pos;
    return (int64_t)n;
}

#endif /* LOB_MOLDTX_H */
