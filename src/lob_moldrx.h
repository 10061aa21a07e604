/* lob_moldrx.h: the MoldUDP64 listener's receive thread and its consumer side.
 *
 * The receive thread (a pthread, no Python) drains one UDP socket in batches
 * (recvmmsg), checks each datagram (lob_mold_check), and stores every new
 * message in the sequenced ring (lob_ring.h) at its sequence number.  It
 * finds holes by sequence number and asks the re-request server for them from
 * the same socket, so the answers (ordinary downstream packets sent back to
 * the request's source) arrive where the stream does.  A hole is requested
 * `grace_ns` after it is first seen (a reordered packet fills it for free),
 * again every `timeout_ns` while it stays open, and given up after
 * `max_tries` requests (a lost marker takes its place in sequence).
 *
 * Backpressure: the ring never drops what it has stored.  When the next
 * message to store lies just past the window and every message before it is
 * ready (the ring is full and in order), the receive thread waits for the
 * consumer (counted in blocked_ns) while the socket buffer holds what keeps
 * arriving; if that overflows, the kernel drops datagrams and they come back
 * as holes, which are requested.  A message past the window with a hole
 * before it (out-of-order data, or a hole waiting for a retransmission)
 * cannot wait: it is discarded, counted in `overflow` and as a hole, and
 * requested again once the window reaches it.  Waiting then could deadlock:
 * the consumer stops at the hole, and the retransmission that fills it
 * arrives on the socket the waiting thread no longer reads.
 *
 * The consumer (the Python thread, through lob._feed) takes the ready
 * messages in sequence order (lob_rx_take), copying them into one buffer in
 * the ITCH file framing, and records each message's latency from datagram
 * arrival (kernel receive timestamp when the socket has SO_TIMESTAMPNS) to
 * the moment the books applied it (lob_rx_applied), both CLOCK_REALTIME.
 */
#ifndef LOB_MOLDRX_H
#define LOB_MOLDRX_H

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#ifdef __linux__
#include <sys/eventfd.h>
#endif

#include "lob_be.h"
#include "lob_hist.h"
#include "lob_mold.h"
#include "lob_ring.h"

#define LOB_RX_VLEN 32            /* datagrams per recvmmsg */
#define LOB_RX_DGRAM 65536        /* bytes per datagram buffer (any UDP datagram fits) */
#define LOB_RX_CTRL 64            /* control buffer per datagram (one timespec cmsg) */
#define LOB_RX_MAX_JUMP (1ull << 32)  /* a sequence number further ahead than this is refused */

#define LOB_LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define LOB_STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define LOB_ADD(x, v) __atomic_store_n(&(x), (x) + (v), __ATOMIC_RELAXED)   /* single writer */

static inline uint64_t lob_clock_ns(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void lob_sleep_ns(uint64_t ns) {
    struct timespec ts;
    ts.tv_sec = (time_t)(ns / 1000000000u);
    ts.tv_nsec = (long)(ns % 1000000000u);
    nanosleep(&ts, NULL);
}

static inline void lob_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

typedef struct {
    uint64_t packets;        /* valid downstream packets (data, heartbeat, end of session) */
    uint64_t heartbeats;
    uint64_t eos_packets;
    uint64_t messages;       /* distinct messages stored (each sequence number once) */
    uint64_t duplicates;     /* messages that arrived again, or before the start */
    uint64_t gaps;           /* holes: runs found missing, plus packets cut at the window */
    uint64_t gap_messages;   /* messages in those holes */
    uint64_t recovered;      /* messages that filled a hole */
    uint64_t lost;           /* messages given up */
    uint64_t overflow;       /* messages discarded past the window (then requested) */
    uint64_t requests;       /* request packets sent */
    uint64_t requested;      /* messages asked for in them */
    uint64_t blocked_ns;     /* receive thread waiting for the consumer (ring full) */
    uint64_t high_water;     /* most messages stored and not yet taken at once */
    uint64_t malformed[LOB_MOLD_REASONS];   /* datagrams refused, by lob_mold_check reason */
} lob_rx_counts;

typedef struct {
    /* configuration: set before lob_rx_start, read-only after */
    int fd;
    uint64_t grace_ns, timeout_ns, scan_ns;
    uint64_t spin_ns;                   /* busy-poll the socket this long after the last datagram */
    int wake_on_socket;                 /* the sleeping consumer also wakes on the socket (lob_rx_wait) */
    uint32_t max_tries, max_request, max_scan, requests_per_pass;
    uint16_t request_port;              /* host order; used with the stream's source address */
    int session_fixed;
    /* shared with the consumer */
    lob_ring ring;
    unsigned char session[LOB_MOLD_SESSION];
    int session_known;                  /* release: session holds the stream's session */
    uint64_t eos_seq;                   /* 0 until an end of session: the next sequence it names */
    uint64_t high;                      /* 1 + the highest sequence number known to exist */
    uint64_t last_packet_ns;            /* CLOCK_MONOTONIC of the last valid packet */
    uint64_t consumed;                  /* messages the consumer has taken */
    uint64_t stored;                    /* messages and lost markers the receiver has stored */
    lob_rx_counts c;
    int stop, error;
    int efd;                            /* eventfd the receive thread writes to wake the consumer (-1: none) */
    int waiting;                        /* the consumer sleeps */
    /* receiver-private */
    struct sockaddr_storage req_addr;
    socklen_t req_len;
    int req_known;
    int base_known;                     /* start_seq 0: the first packet sets base */
    uint64_t contig;                    /* every sequence below it is stored or taken */
    uint64_t last_scan_ns;
    uint64_t last_data_ns;              /* CLOCK_MONOTONIC of the last datagram read */
    lob_hist rx_hist;                   /* datagram arrival -> read by this thread, ns */
    struct mmsghdr *msgs;
    struct iovec *iov;
    unsigned char *bufs;
    struct sockaddr_storage *addrs;
    unsigned char *ctrl;
    pthread_t thread;
    int started;
    /* consumer-private */
    uint8_t itch_len[256];              /* ITCH 5.0 length by type, 0 unknown */
    uint64_t *arrivals;                 /* of the messages of the last take */
    uint32_t n_arrivals, max_batch;
    uint16_t local_of[65536];           /* stock locate -> index in `locals` for this batch */
    uint16_t locals[65536];             /* the batch's locates, in first-seen order */
    uint32_t n_locals;
    lob_hist hist;
    uint64_t taken, applied, bad_messages, lost_taken;
} lob_rx;

/* 0, or -1 when out of memory.  start_seq 0 starts from the first packet seen. */
static inline int lob_rx_init(lob_rx *rx, int fd, uint64_t ring_size, uint64_t slot_bytes, uint64_t start_seq,
                              uint32_t max_batch) {
    uint32_t i;
    memset(rx, 0, sizeof(*rx));
    rx->fd = fd;
#ifdef __linux__
    rx->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
#else
    rx->efd = -1;
#endif
    if (lob_ring_init(&rx->ring, ring_size, slot_bytes, start_seq) != 0)
        return -1;
    rx->base_known = start_seq != 0;
    rx->high = rx->contig = start_seq;
    rx->max_batch = max_batch;
    rx->msgs = (struct mmsghdr *)calloc(LOB_RX_VLEN, sizeof(struct mmsghdr));
    rx->iov = (struct iovec *)calloc(LOB_RX_VLEN, sizeof(struct iovec));
    rx->bufs = (unsigned char *)malloc((size_t)LOB_RX_VLEN * LOB_RX_DGRAM);
    rx->addrs = (struct sockaddr_storage *)calloc(LOB_RX_VLEN, sizeof(struct sockaddr_storage));
    rx->ctrl = (unsigned char *)calloc(LOB_RX_VLEN, LOB_RX_CTRL);
    rx->arrivals = (uint64_t *)calloc(max_batch ? max_batch : 1, sizeof(uint64_t));
    if (!rx->msgs || !rx->iov || !rx->bufs || !rx->addrs || !rx->ctrl || !rx->arrivals)
        return -1;
    for (i = 0; i < 65536; i++)
        rx->local_of[i] = 0xFFFF;
    rx->grace_ns = 1000000;
    rx->timeout_ns = 20000000;
    rx->scan_ns = 100000;
    rx->max_tries = 250;
    rx->max_request = 512;
    rx->max_scan = 1u << 16;
    rx->requests_per_pass = 256;
    return 0;
}

static inline void lob_rx_free(lob_rx *rx) {
    if (rx->efd >= 0)
        close(rx->efd);
    rx->efd = -1;
    lob_ring_free(&rx->ring);
    free(rx->msgs);
    free(rx->iov);
    free(rx->bufs);
    free(rx->addrs);
    free(rx->ctrl);
    free(rx->arrivals);
    rx->msgs = NULL;
    rx->iov = NULL;
    rx->bufs = NULL;
    rx->addrs = NULL;
    rx->ctrl = NULL;
    rx->arrivals = NULL;
}

/* ---- receive thread ---------------------------------------------------- */

static inline void lob_rx_wake_consumer(lob_rx *rx) {
    uint64_t one = 1;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);      /* the stores before it, then read `waiting` */
    if (__atomic_load_n(&rx->waiting, __ATOMIC_RELAXED) && rx->efd >= 0)
        (void)!write(rx->efd, &one, sizeof(one));
}

static inline void lob_rx_request(lob_rx *rx, uint64_t seq, uint32_t count) {
    unsigned char pkt[LOB_MOLD_HEADER];
    if (!rx->req_known || count == 0)
        return;
    lob_mold_put_header(pkt, rx->session, seq, (uint16_t)count);
    /* a failed send is a request that got no answer: the time-out sends it again */
    (void)sendto(rx->fd, pkt, sizeof(pkt), MSG_DONTWAIT, (struct sockaddr *)&rx->req_addr, rx->req_len);
    LOB_ADD(rx->c.requests, 1);
    LOB_ADD(rx->c.requested, count);
}

static inline void lob_rx_advance_contig(lob_rx *rx, uint64_t base) {
    uint64_t limit = base + rx->ring.size;
    if (rx->contig < base)
        rx->contig = base;
    while (rx->contig < rx->high && rx->contig < limit && lob_ring_ready(&rx->ring, rx->contig))
        rx->contig++;
}

static inline void lob_rx_note_stored(lob_rx *rx) {
    uint64_t held;
    LOB_ADD(rx->stored, 1);
    held = rx->stored - __atomic_load_n(&rx->consumed, __ATOMIC_ACQUIRE);
    if (held > rx->c.high_water)
        LOB_STORE(rx->c.high_water, held);
}

/* Request the holes of the window (from contig on, at most max_scan slots),
 * and give up the ones asked for max_tries times. */
static inline void lob_rx_scan(lob_rx *rx, uint64_t now) {
    lob_ring *r = &rx->ring;
    uint64_t base = lob_ring_base(r), s, limit, run_start = 0, due;
    uint32_t run = 0, sent = 0;
    int gave_up = 0;
    lob_ring_want *w;
    rx->last_scan_ns = now;
    lob_rx_advance_contig(rx, base);
    limit = rx->high;
    if (limit > base + r->size)
        limit = base + r->size;
    if (limit > rx->contig + rx->max_scan)
        limit = rx->contig + rx->max_scan;
    for (s = rx->contig; s < limit && sent < rx->requests_per_pass; s++) {
        if (lob_ring_ready(r, s)) {
            if (run) { lob_rx_request(rx, run_start, run); sent++; run = 0; }
            continue;
        }
        w = &r->want[s & r->mask];
        if (w->seq != s) {            /* first seen missing now */
            w->seq = s;
            w->last_ns = now;
            w->tries = 0;
        }
        due = w->tries == 0 ? rx->grace_ns : rx->timeout_ns;
        if (now - w->last_ns < due) {
            if (run) { lob_rx_request(rx, run_start, run); sent++; run = 0; }
            continue;
        }
        if (w->tries >= rx->max_tries) {
            if (run) { lob_rx_request(rx, run_start, run); sent++; run = 0; }
            lob_ring_put(r, s, NULL, 0, lob_clock_ns(CLOCK_REALTIME));
            LOB_ADD(rx->c.lost, 1);
            lob_rx_note_stored(rx);
            gave_up = 1;
            continue;
        }
        if (run == 0)
            run_start = s;
        run++;
        w->tries++;
        w->last_ns = now;
        if (run == rx->max_request) { lob_rx_request(rx, run_start, run); sent++; run = 0; }
    }
    if (run)
        lob_rx_request(rx, run_start, run);
    if (gave_up) {
        lob_rx_advance_contig(rx, base);
        lob_rx_wake_consumer(rx);
    }
}

/* Store message s; returns 0, or 1 when the receive thread must stop. */
static inline int lob_rx_store(lob_rx *rx, uint64_t s, const unsigned char *block, uint32_t len,
                               uint64_t arrival, uint64_t high_before) {
    lob_ring *r = &rx->ring;
    uint64_t base = lob_ring_base(r), t0;
    if (s < base) {
        LOB_ADD(rx->c.duplicates, 1);
        return 0;
    }
    if (s >= base + r->size) {
        lob_rx_advance_contig(rx, base);
        if (rx->contig != s)
            return 2;                  /* a hole before s: the caller discards */
        /* every message before s is ready: the consumer will make room for it */
        lob_rx_wake_consumer(rx);
        t0 = lob_clock_ns(CLOCK_MONOTONIC);
        while (s >= base + r->size) {
            if (__atomic_load_n(&rx->stop, __ATOMIC_ACQUIRE)) {
                LOB_ADD(rx->c.blocked_ns, lob_clock_ns(CLOCK_MONOTONIC) - t0);
                return 1;
            }
            lob_sleep_ns(20000);
            base = lob_ring_base(r);
        }
        LOB_ADD(rx->c.blocked_ns, lob_clock_ns(CLOCK_MONOTONIC) - t0);
    }
    if (lob_ring_ready(r, s)) {
        LOB_ADD(rx->c.duplicates, 1);
        return 0;
    }
    lob_ring_put(r, s, block, len, arrival);
    LOB_ADD(rx->c.messages, 1);
    if (s < high_before)
        LOB_ADD(rx->c.recovered, 1);
    lob_rx_note_stored(rx);
    return 0;
}

static inline void lob_rx_set_request_addr(lob_rx *rx, const struct sockaddr_storage *src, socklen_t len) {
    memcpy(&rx->req_addr, src, sizeof(*src));
    rx->req_len = len;
    if (src->ss_family == AF_INET)
        ((struct sockaddr_in *)&rx->req_addr)->sin_port = htons(rx->request_port);
    else if (src->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&rx->req_addr)->sin6_port = htons(rx->request_port);
    rx->req_known = 1;
}

/* Requests go to (ip, port) rather than to the stream's source; 0, or -1
 * when ip is not a numeric address of that family.  Call before start. */
static inline int lob_rx_set_fixed_request_addr(lob_rx *rx, int family, const char *ip, uint16_t port) {
    memset(&rx->req_addr, 0, sizeof(rx->req_addr));
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&rx->req_addr;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        if (inet_pton(AF_INET, ip, &a->sin_addr) != 1)
            return -1;
        rx->req_len = sizeof(*a);
    } else if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&rx->req_addr;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        if (inet_pton(AF_INET6, ip, &a->sin6_addr) != 1)
            return -1;
        rx->req_len = sizeof(*a);
    } else {
        return -1;
    }
    rx->req_known = 1;
    return 0;
}

/* One datagram; returns 1 when the thread must stop. */
static inline int lob_rx_packet(lob_rx *rx, const unsigned char *p, size_t n, uint64_t arrival,
                                const struct sockaddr_storage *src, socklen_t srclen, uint64_t now) {
    lob_mold_header h;
    uint64_t high_before, end, s;
    size_t pos = LOB_MOLD_HEADER;
    uint32_t blen;
    unsigned k;
    int status = lob_mold_check(p, n, __atomic_load_n(&rx->session_known, __ATOMIC_ACQUIRE) ? rx->session : NULL, &h);
    if (status != LOB_MOLD_OK) {
        LOB_ADD(rx->c.malformed[status], 1);
        return 0;
    }
    if (rx->base_known && h.seq > rx->high + LOB_RX_MAX_JUMP) {   /* no feed skips 2**32 messages */
        LOB_ADD(rx->c.malformed[LOB_MOLD_BAD_SEQUENCE], 1);
        return 0;
    }
    if (!rx->session_known) {
        memcpy(rx->session, p, LOB_MOLD_SESSION);
        __atomic_store_n(&rx->session_known, 1, __ATOMIC_RELEASE);
    }
    if (!rx->req_known)
        lob_rx_set_request_addr(rx, src, srclen);
    if (!rx->base_known) {              /* start from the first packet seen */
        rx->high = rx->contig = h.seq;
        __atomic_store_n(&rx->ring.base, h.seq, __ATOMIC_RELEASE);
        rx->base_known = 1;
    }
    LOB_ADD(rx->c.packets, 1);
    LOB_STORE(rx->last_packet_ns, now);
    if (h.count == LOB_MOLD_HEARTBEAT)
        LOB_ADD(rx->c.heartbeats, 1);
    else if (h.count == LOB_MOLD_EOS) {
        LOB_ADD(rx->c.eos_packets, 1);
        if (rx->eos_seq == 0)
            __atomic_store_n(&rx->eos_seq, h.seq, __ATOMIC_RELEASE);
    }
    high_before = rx->high;
    end = h.seq + h.messages;

    if (h.seq > high_before) {          /* everything from high to this packet is missing */
        LOB_ADD(rx->c.gaps, 1);
        LOB_ADD(rx->c.gap_messages, h.seq - high_before);
    }
    if (end > rx->high)
        __atomic_store_n(&rx->high, end, __ATOMIC_RELEASE);
    for (k = 0; k < h.messages; k++) {
        s = h.seq + k;
        blen = lob_be16(p + pos);
        status = lob_rx_store(rx, s, p + pos, blen, arrival, high_before);
        if (status == 1)
            return 1;
        if (status == 2) {              /* past the window with a hole in it: the rest is a hole */
            uint64_t cut = (uint64_t)(h.messages - k);
            uint64_t fresh = end > high_before ? end - (s > high_before ? s : high_before) : 0;
            LOB_ADD(rx->c.overflow, cut);
            if (fresh) {                /* new messages dropped here: a hole to request later */
                LOB_ADD(rx->c.gaps, 1);
                LOB_ADD(rx->c.gap_messages, fresh);
            }
            break;
        }
        pos += 2 + blen;
    }
    return 0;
}

static inline uint64_t lob_rx_cmsg_time(struct msghdr *m) {
#if defined(__linux__) && defined(SCM_TIMESTAMPNS)
    struct cmsghdr *c;
    for (c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(c), sizeof(ts));
            return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        }
    }
#else
    (void)m;
#endif
    return 0;
}

/* Datagrams waiting on the socket, up to LOB_RX_VLEN; -1 with errno. */
static inline int lob_rx_recv(lob_rx *rx) {
    int i;
    for (i = 0; i < LOB_RX_VLEN; i++) {
        struct msghdr *m = &rx->msgs[i].msg_hdr;
        rx->iov[i].iov_base = rx->bufs + (size_t)i * LOB_RX_DGRAM;
        rx->iov[i].iov_len = LOB_RX_DGRAM;
        memset(m, 0, sizeof(*m));
        m->msg_name = &rx->addrs[i];
        m->msg_namelen = sizeof(struct sockaddr_storage);
        m->msg_iov = &rx->iov[i];
        m->msg_iovlen = 1;
        m->msg_control = rx->ctrl + (size_t)i * LOB_RX_CTRL;
        m->msg_controllen = LOB_RX_CTRL;
        rx->msgs[i].msg_len = 0;
    }
#ifdef __linux__
    return recvmmsg(rx->fd, rx->msgs, LOB_RX_VLEN, MSG_DONTWAIT, NULL);
#else
    for (i = 0; i < LOB_RX_VLEN; i++) {
        ssize_t got = recvmsg(rx->fd, &rx->msgs[i].msg_hdr, MSG_DONTWAIT);
        if (got < 0)
            return i ? i : -1;
        rx->msgs[i].msg_len = (unsigned)got;
    }
    return i;
#endif
}

static void *lob_rx_main(void *arg) {
    lob_rx *rx = (lob_rx *)arg;
    struct pollfd pfd;
    int n, i;
    uint64_t now, now_rt, arrival;
    pfd.fd = rx->fd;
    pfd.events = POLLIN;
    while (!__atomic_load_n(&rx->stop, __ATOMIC_ACQUIRE)) {
        n = lob_rx_recv(rx);
        now = lob_clock_ns(CLOCK_MONOTONIC);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNREFUSED) {
                __atomic_store_n(&rx->error, errno, __ATOMIC_RELEASE);
                break;
            }
            if (rx->contig < rx->high && now - rx->last_scan_ns >= rx->scan_ns)
                lob_rx_scan(rx, now);
            if (now - rx->last_data_ns < rx->spin_ns) {   /* busy-poll: no wake-up latency */
                int k;
                for (k = 0; k < 32; k++)
                    lob_cpu_relax();
                continue;
            }
            /* holes open: come back soon to time their requests out */
            (void)poll(&pfd, 1, rx->contig < rx->high ? 1 : 20);
            continue;
        }
        rx->last_data_ns = now;
        now_rt = lob_clock_ns(CLOCK_REALTIME);
        for (i = 0; i < n; i++) {
            struct msghdr *m = &rx->msgs[i].msg_hdr;
            if (m->msg_flags & MSG_TRUNC) {
                LOB_ADD(rx->c.malformed[LOB_MOLD_TRUNCATED], 1);
                continue;
            }
            arrival = lob_rx_cmsg_time(m);
            if (arrival == 0)
                arrival = now_rt;
            lob_hist_add(&rx->rx_hist, now_rt > arrival ? now_rt - arrival : 0, 1);
            if (lob_rx_packet(rx, rx->bufs + (size_t)i * LOB_RX_DGRAM, rx->msgs[i].msg_len, arrival,
                              &rx->addrs[i], m->msg_namelen, now)) {
                lob_rx_wake_consumer(rx);
                return NULL;
            }
        }
        lob_rx_wake_consumer(rx);
        lob_rx_advance_contig(rx, lob_ring_base(&rx->ring));
        if (rx->contig < rx->high && now - rx->last_scan_ns >= rx->scan_ns)
            lob_rx_scan(rx, now);
    }
    lob_rx_wake_consumer(rx);
    return NULL;
}

static inline int lob_rx_start(lob_rx *rx) {
    int err = pthread_create(&rx->thread, NULL, lob_rx_main, rx);
    if (err == 0)
        rx->started = 1;
    return err;
}

static inline void lob_rx_stop(lob_rx *rx) {
    __atomic_store_n(&rx->stop, 1, __ATOMIC_RELEASE);
    if (rx->started) {
        pthread_join(rx->thread, NULL);
        rx->started = 0;
    }
    __atomic_store_n(&rx->waiting, 1, __ATOMIC_SEQ_CST);
    lob_rx_wake_consumer(rx);
}

/* ---- consumer side ----------------------------------------------------- */

/* Is the ITCH 5.0 message (payload m of len bytes) one the parser takes?
 * The same checks as lob._itch, so feed_books never stops at one. */
static inline int lob_itch_ok(const uint8_t *len_of, const unsigned char *m, uint32_t len) {
    unsigned t;
    if (len == 0)
        return 0;
    t = m[0];
    if (len_of[t] == 0 || len_of[t] != len)
        return 0;
    if ((t == 'A' || t == 'F' || t == 'P') && m[19] != 'B' && m[19] != 'S')
        return 0;
    if (t == 'Q' && lob_be64(m + 11) > (uint64_t)INT64_MAX)
        return 0;
    return 1;
}

static inline int lob_rx_done(lob_rx *rx) {
    uint64_t eos = __atomic_load_n(&rx->eos_seq, __ATOMIC_ACQUIRE);
    return eos != 0 && rx->ring.base >= eos;
}

/* Wait up to timeout_ns (spinning the first spin_ns) for the next message in
 * sequence; 1 when one is ready, 0 on time-out, end of session reached or stop.
 *
 * The consumer sleeps on the socket as well as on the receive thread's
 * eventfd: a datagram wakes both threads at once, and the consumer spins
 * briefly for the receive thread to store it, instead of waking only once
 * the receive thread has (two wake-ups in a row).  A datagram that brings
 * nothing in sequence (heartbeat, duplicate, a hole) ends that for the rest
 * of the call: then only the eventfd wakes the consumer. */
static inline int lob_rx_wait(lob_rx *rx, uint64_t timeout_ns, uint64_t spin_ns) {
    lob_ring *r = &rx->ring;
    uint64_t t0, now, left, step, t1;
    int watch_socket = rx->wake_on_socket;
    if (lob_ring_ready(r, r->base))
        return 1;
    if (timeout_ns == 0)
        return 0;
    t0 = lob_clock_ns(CLOCK_MONOTONIC);
    for (;;) {
        if (lob_ring_ready(r, lob_ring_base(r)))
            return 1;
        if (lob_rx_done(rx) || __atomic_load_n(&rx->stop, __ATOMIC_ACQUIRE))
            return 0;
        now = lob_clock_ns(CLOCK_MONOTONIC);
        if (now - t0 >= timeout_ns)
            return 0;
        if (now - t0 < spin_ns) {
            int k;
            for (k = 0; k < 64; k++)
                lob_cpu_relax();
            continue;
        }
        left = timeout_ns - (now - t0);
        step = left < 10000000u ? left : 10000000u;
        __atomic_store_n(&rx->waiting, 1, __ATOMIC_SEQ_CST);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);   /* publish `waiting`, then look at the ring */
        if (!lob_ring_ready(r, lob_ring_base(r)) && !__atomic_load_n(&rx->stop, __ATOMIC_ACQUIRE)) {
#ifdef __linux__
            if (rx->efd >= 0) {
                struct pollfd p[2];
                struct timespec ts;
                uint64_t drained;
                p[0].fd = rx->efd;
                p[0].events = POLLIN;
                p[0].revents = 0;
                p[1].fd = rx->fd;
                p[1].events = POLLIN;
                p[1].revents = 0;
                ts.tv_sec = (time_t)(step / 1000000000u);
                ts.tv_nsec = (long)(step % 1000000000u);
                if (ppoll(p, watch_socket ? 2 : 1, &ts, NULL) > 0) {
                    if (p[0].revents & POLLIN)
                        (void)!read(rx->efd, &drained, sizeof(drained));
                    if (watch_socket && (p[1].revents & POLLIN)) {
                        t1 = lob_clock_ns(CLOCK_MONOTONIC);
                        while (!lob_ring_ready(r, lob_ring_base(r)) && lob_clock_ns(CLOCK_MONOTONIC) - t1 < 100000u)
                            sched_yield();     /* the receive thread may be waiting for this CPU */
                        if (!lob_ring_ready(r, lob_ring_base(r)))
                            watch_socket = 0;
                    }
                }
            } else
#endif
                lob_sleep_ns(step < 50000u ? step : 50000u);
        }
        __atomic_store_n(&rx->waiting, 0, __ATOMIC_RELAXED);
    }
}

/* Take up to max_batch ready messages in sequence order into out (cap bytes),
 * framed as an ITCH file (u16 length + payload), each stock locate replaced
 * by its index in rx->locals (this batch's stocks, first-seen order).  Lost
 * markers and messages the ITCH parser would refuse are counted and left out.
 * Returns the bytes written; rx->n_arrivals holds the messages written. */
static inline size_t lob_rx_take(lob_rx *rx, unsigned char *out, size_t cap) {
    lob_ring *r = &rx->ring;
    uint64_t base = r->base, taken = 0;
    size_t pos = 0;
    uint32_t i, n = 0, len;
    uint16_t loc, local;
    const lob_ring_meta *m;
    const unsigned char *src;
    for (i = 0; i < rx->n_locals; i++)
        rx->local_of[rx->locals[i]] = 0xFFFF;
    rx->n_locals = 0;
    while (taken < rx->max_batch) {
        m = &r->meta[base & r->mask];
        if (__atomic_load_n(&m->seq, __ATOMIC_ACQUIRE) != base)
            break;
        len = m->len;
        src = r->data + (base & r->mask) * r->slot_bytes;
        if (len == LOB_RING_LOST) {
            rx->lost_taken++;
        } else if (len == LOB_RING_OVERSIZE || !lob_itch_ok(rx->itch_len, src + 2, len)) {
            rx->bad_messages++;
        } else {
            if (pos + 2 + len > cap)
                break;
            memcpy(out + pos, src, 2 + (size_t)len);
            loc = lob_be16(src + 3);
            local = rx->local_of[loc];
            if (local == 0xFFFF) {
                local = (uint16_t)rx->n_locals;
                rx->locals[rx->n_locals++] = loc;
                rx->local_of[loc] = local;
            }
            out[pos + 3] = (unsigned char)(local >> 8);
            out[pos + 4] = (unsigned char)local;
            rx->arrivals[n++] = m->arrival_ns;
            pos += 2 + len;
        }
        base++;
        taken++;
    }
    if (taken) {
        /* consumed before base: the receive thread sees the freed slots only
         * once they are counted, so its high-water mark never passes the ring */
        __atomic_store_n(&rx->consumed, rx->consumed + taken, __ATOMIC_RELEASE);
        __atomic_store_n(&r->base, base, __ATOMIC_RELEASE);
        rx->taken += taken;
    }
    rx->n_arrivals = n;
    return pos;
}

/* Lost markers stored in [base, end) and not taken yet (the receive thread
 * must be stopped). */
static inline uint64_t lob_rx_pending_lost(const lob_rx *rx, uint64_t end) {
    const lob_ring *r = &rx->ring;
    uint64_t s, n = 0, limit = r->base + r->size;
    if (end > limit)
        end = limit;
    for (s = r->base; s < end; s++)
        if (lob_ring_ready(r, s) && r->meta[s & r->mask].len == LOB_RING_LOST)
            n++;
    return n;
}

/* The messages of the last take are in the books now: record their latency. */
static inline void lob_rx_applied(lob_rx *rx) {
    uint64_t now = lob_clock_ns(CLOCK_REALTIME), a;
    uint32_t i;
    for (i = 0; i < rx->n_arrivals; i++) {
        a = rx->arrivals[i];
        lob_hist_add(&rx->hist, now > a ? now - a : 0, 1);
    }
    rx->applied += rx->n_arrivals;
    rx->n_arrivals = 0;
}

#endif /* LOB_MOLDRX_H */
