# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The C side of lob.feed: the MoldUDP64 receive thread with its sequenced
ring (Receiver) and the publisher with its re-request server (Sender).

Both run pthreads that hold no Python object and never take the GIL
(src/lob_moldrx.h, src/lob_moldtx.h); the sockets are made, bound and owned
by lob.feed, which passes their file descriptors here and keeps them open
until the threads are joined.
"""
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy, memset

cdef extern from "lob_hist.h":
    ctypedef struct lob_hist:
        uint64_t total
        uint64_t max
        double sum
    uint64_t lob_hist_quantile(const lob_hist *h, double q) nogil
    void lob_hist_clear(lob_hist *h) nogil

cdef extern from "lob_mold.h":
    enum:
        LOB_MOLD_SESSION
        LOB_MOLD_REASONS

cdef extern from "lob_ring.h":
    ctypedef struct lob_ring:
        uint64_t size
        uint64_t slot_bytes
        uint64_t base

cdef extern from "lob_moldrx.h":
    ctypedef struct lob_rx_counts:
        uint64_t packets
        uint64_t heartbeats
        uint64_t eos_packets
        uint64_t messages
        uint64_t duplicates
        uint64_t gaps
        uint64_t gap_messages
        uint64_t recovered
        uint64_t lost
        uint64_t overflow
        uint64_t requests
        uint64_t requested
        uint64_t blocked_ns
        uint64_t high_water
        uint64_t malformed[6]
    ctypedef struct lob_rx:
        int fd
        uint64_t grace_ns, timeout_ns, scan_ns, spin_ns
        int wake_on_socket
        uint32_t max_tries, max_request, max_scan, requests_per_pass
        uint16_t request_port
        int session_fixed
        lob_ring ring
        unsigned char session[10]
        int session_known
        uint64_t eos_seq
        uint64_t high
        uint64_t last_packet_ns
        uint64_t consumed
        lob_rx_counts c
        int stop
        int error
        int req_known
        uint8_t itch_len[256]
        uint32_t n_arrivals
        uint32_t max_batch
        uint16_t locals[65536]
        uint32_t n_locals
        lob_hist hist
        lob_hist rx_hist
        uint64_t taken, applied, bad_messages, lost_taken
    int lob_rx_init(lob_rx *rx, int fd, uint64_t ring_size, uint64_t slot_bytes, uint64_t start_seq,
                    uint32_t max_batch) nogil
    void lob_rx_free(lob_rx *rx) nogil
    int lob_rx_start(lob_rx *rx) nogil
    void lob_rx_stop(lob_rx *rx) nogil
    int lob_rx_wait(lob_rx *rx, uint64_t timeout_ns, uint64_t spin_ns) nogil
    size_t lob_rx_take(lob_rx *rx, unsigned char *out, size_t cap) nogil
    void lob_rx_applied(lob_rx *rx) nogil
    int lob_rx_done(lob_rx *rx) nogil
    uint64_t lob_rx_pending_lost(const lob_rx *rx, uint64_t end) nogil
    uint64_t lob_clock_ns(int clock) nogil
    int lob_rx_set_addr "lob_rx_set_fixed_request_addr"(lob_rx *rx, int family, const char *ip, uint16_t port) nogil

cdef extern from "lob_moldtx.h":
    ctypedef struct lob_tx_counts:
        uint64_t packets
        uint64_t messages
        uint64_t dropped
        uint64_t reordered
        uint64_t duplicated
        uint64_t heartbeats
        uint64_t eos
        uint64_t requests
        uint64_t bad_requests
        uint64_t response_packets
        uint64_t retransmitted
        uint64_t send_errors
    ctypedef struct lob_tx:
        const unsigned char *data
        const uint64_t *offs
        uint64_t n
        int fd_live, fd_req
        unsigned char session[10]
        double rate
        uint64_t start_seq, end_seq
        uint32_t packet_size, max_per_packet
        double drop, reorder, duplicate
        uint64_t seed
        uint64_t heartbeat_ns, eos_interval_ns, linger_ns, max_linger_ns
        uint64_t next_seq
        int stop, live_done, error
        lob_tx_counts c
    int lob_tx_start(lob_tx *tx) nogil
    void lob_tx_stop(lob_tx *tx) nogil
    int64_t lob_tx_index(const unsigned char *data, uint64_t size, uint64_t *offs) nogil

cdef extern from "<time.h>":
    enum:
        CLOCK_MONOTONIC
        CLOCK_REALTIME

import numpy as np

# why lob_mold_check refused a datagram, by its code
MALFORMED = ("short", "wrong_session", "truncated", "trailing", "bad_sequence")


cdef uint64_t seconds_ns(double s):
    return <uint64_t>(s * 1e9) if s > 0 else 0


def index_messages(data):
    """(offsets, bad): the offsets of the message blocks (u16 big-endian
    length + payload) of `data`, a uint64 array of n + 1 entries, and None;
    or (None, byte offset) of a block that runs past the end of the data or
    cannot fit a UDP packet."""
    cdef const unsigned char[::1] view = data
    cdef int64_t n
    cdef uint64_t size = view.shape[0]
    with nogil:
        n = lob_tx_index(&view[0] if size else NULL, size, NULL)
    if n < 0:
        return None, -1 - n
    offs = np.empty(n + 1, dtype=np.uint64)
    cdef uint64_t[::1] o = offs
    with nogil:
        lob_tx_index(&view[0] if size else NULL, size, &o[0])
    return offs, None


cdef class Receiver:
    """The receive thread and its ring (see src/lob_moldrx.h); lob.feed.Listener
    drives it.  sock: a bound UDP socket, held here until the thread is joined."""
    cdef lob_rx *rx
    cdef unsigned char *out
    cdef size_t cap
    cdef object sock          # released only after __dealloc__ has joined the thread
    cdef object view
    cdef public list batch_locates   # stock locates of the last batch, by the index that replaced them

    def __cinit__(self, sock, *, uint64_t ring_size, uint64_t slot_bytes, uint64_t start_seq,
                  uint32_t max_batch, bytes itch_lengths, session=None, uint16_t request_port=0,
                  double grace=0.001, double timeout=0.02, uint32_t max_tries=250, uint32_t max_request=512,
                  double spin=0.0, bint wake_on_socket=True):
        self.rx = <lob_rx *>calloc(1, sizeof(lob_rx))
        if self.rx == NULL:
            raise MemoryError("lob.feed: cannot allocate the receiver")
        self.sock = sock
        if lob_rx_init(self.rx, sock.fileno(), ring_size, slot_bytes, start_seq, max_batch) != 0:
            lob_rx_free(self.rx)
            free(self.rx)
            self.rx = NULL
            raise MemoryError(f"lob.feed: cannot allocate a ring of {ring_size} slots of {slot_bytes} bytes")
        self.cap = <size_t>max_batch * slot_bytes
        self.out = <unsigned char *>calloc(self.cap if self.cap else 1, 1)
        if self.out == NULL:
            raise MemoryError("lob.feed: cannot allocate the batch buffer")
        self.view = memoryview(<unsigned char[:self.cap]>self.out)
        if len(itch_lengths) != 256:
            raise ValueError("itch_lengths must hold 256 bytes")
        memcpy(self.rx.itch_len, <const char *>itch_lengths, 256)
        if session is not None:
            memcpy(self.rx.session, <const char *>session, LOB_MOLD_SESSION)
            self.rx.session_known = 1
        self.rx.request_port = request_port
        self.rx.grace_ns = seconds_ns(grace)
        self.rx.timeout_ns = seconds_ns(timeout) or 1
        self.rx.max_tries = max_tries
        self.rx.spin_ns = seconds_ns(spin)
        self.rx.wake_on_socket = wake_on_socket
        self.rx.max_request = max_request if 0 < max_request < 65535 else 512

    def __dealloc__(self):
        if self.rx != NULL:
            with nogil:
                lob_rx_stop(self.rx)
            lob_rx_free(self.rx)
            free(self.rx)
            self.rx = NULL
        free(self.out)

    def set_request_address(self, int family, str ip, uint16_t port):
        """Send requests to (ip, port) instead of the stream's source address."""
        if lob_rx_set_addr(self.rx, family, ip.encode("ascii"), port) != 0:
            raise ValueError(f"request address {ip!r} is not a numeric IPv4 or IPv6 address")

    def start(self):
        cdef int err
        with nogil:
            err = lob_rx_start(self.rx)
        if err:
            raise OSError(err, "lob.feed: cannot start the receive thread")

    def stop(self):
        """Stop and join the receive thread (bounded: it checks every 20 ms)."""
        with nogil:
            lob_rx_stop(self.rx)

    def wait(self, double timeout, double spin=0.0):
        """Wait (without the GIL) up to `timeout` seconds for the next message
        in sequence; True when one is ready."""
        cdef int ready
        cdef uint64_t t = seconds_ns(timeout), s = seconds_ns(spin)
        with nogil:
            ready = lob_rx_wait(self.rx, t, s)
        return bool(ready)

    def apply_ready(self, double timeout, double spin, parser, list by_locate, new_book, dict rejected):
        """One poll: wait (without the GIL) up to `timeout` seconds for the
        next message in sequence, take every ready one (at most max_batch),
        apply them with parser.feed_books to the books of `by_locate` (a
        list by stock locate; new_book(index, symbol) makes one at a stock
        directory message, the index into batch_locates), add the books'
        refusals to `rejected`, and record each message's latency.  Returns
        the messages applied."""
        cdef int ready = 0
        cdef size_t n = 0
        cdef uint32_t i
        cdef uint64_t t = seconds_ns(timeout), s = seconds_ns(spin)
        with nogil:
            ready = lob_rx_wait(self.rx, t, s)
            if ready:
                n = lob_rx_take(self.rx, self.out, self.cap)
        if not ready:
            return 0
        applied = 0
        if n:
            locates = [self.rx.locals[i] for i in range(self.rx.n_locals)]
            self.batch_locates = locates
            books = [by_locate[loc] for loc in locates]
            counts, _ = parser.feed_books(self.view[:n], books, new_book)
            for reason, count in counts.items():
                rejected[reason] = rejected.get(reason, 0) + count
            applied = self.rx.n_arrivals
        with nogil:
            lob_rx_applied(self.rx)
        return applied

    def pending_lost(self, uint64_t end):
        """Lost markers between the next message and `end`, not taken yet
        (call after stop())."""
        return lob_rx_pending_lost(self.rx, end)

    @property
    def wake_on_socket(self):
        return bool(self.rx.wake_on_socket)

    @wake_on_socket.setter
    def wake_on_socket(self, value):
        self.rx.wake_on_socket = bool(value)

    @property
    def done(self):
        """End of session seen and every message up to it taken."""
        return bool(lob_rx_done(self.rx))

    @property
    def next_seq(self):
        return self.rx.ring.base

    @property
    def ring_size(self):
        return self.rx.ring.size

    @property
    def session(self):
        if not self.rx.session_known:
            return None
        return bytes(self.rx.session[:LOB_MOLD_SESSION])

    @property
    def error(self):
        return self.rx.error

    @property
    def last_packet_ns(self):
        return self.rx.last_packet_ns

    def counts(self):
        """Every counter, as a dict of ints (read while the thread runs: each
        value is current, the set is not one instant)."""
        cdef lob_rx_counts c = self.rx.c
        out = {
            "packets": c.packets, "heartbeats": c.heartbeats, "eos_packets": c.eos_packets,
            "messages_received": c.messages, "duplicates": c.duplicates, "gaps": c.gaps,
            "gap_messages": c.gap_messages, "recovered": c.recovered, "lost": c.lost, "overflow": c.overflow,
            "requests": c.requests, "requested": c.requested, "blocked_ns": c.blocked_ns,
            "high_water": c.high_water, "ring_size": self.rx.ring.size,
            "messages": self.rx.applied, "taken": self.rx.taken, "bad_messages": self.rx.bad_messages,
            "next_seq": self.rx.ring.base, "high": self.rx.high, "eos_seq": self.rx.eos_seq,
        }
        out["malformed"] = {name: c.malformed[i + 1] for i, name in enumerate(MALFORMED)}
        return out

    def latency(self, q):
        """Latency in ns at quantile q in [0, 1] (0 when nothing was applied)."""
        return lob_hist_quantile(&self.rx.hist, q)

    def receive_latency(self, q):
        """Datagram arrival -> read by the receive thread, ns at quantile q
        (per datagram; read while the thread runs, so approximate)."""
        return lob_hist_quantile(&self.rx.rx_hist, q)

    @property
    def latency_count(self):
        return self.rx.hist.total

    @property
    def latency_mean(self):
        return self.rx.hist.sum / self.rx.hist.total if self.rx.hist.total else float("nan")

    @property
    def latency_max(self):
        return self.rx.hist.max

    def reset_latency(self):
        lob_hist_clear(&self.rx.hist)
        lob_hist_clear(&self.rx.rx_hist)


def monotonic_ns():
    return lob_clock_ns(CLOCK_MONOTONIC)


cdef class Sender:
    """The publisher's live and request threads (see src/lob_moldtx.h);
    lob.feed.Publisher drives it.  `data` (a bytes-like store of message
    blocks), `offsets` (index_messages(data)) and the two sockets (live:
    connected to the stream's address; req: bound to the request port) stay
    referenced here until the threads are joined."""
    cdef lob_tx *tx
    cdef object data
    cdef object offsets
    cdef object socks         # released only after __dealloc__ has joined the threads
    cdef const unsigned char[::1] view
    cdef const uint64_t[::1] offs

    def __cinit__(self, data, offsets, live, req, bytes session, *, double rate, uint64_t start_seq,
                  uint64_t end_seq, uint32_t packet_size, uint32_t max_per_packet, double drop, double reorder,
                  double duplicate, uint64_t seed, double heartbeat, double eos_interval, double linger,
                  double max_linger):
        self.tx = <lob_tx *>calloc(1, sizeof(lob_tx))
        if self.tx == NULL:
            raise MemoryError("lob.feed: cannot allocate the publisher")
        self.data = data
        self.offsets = offsets
        self.view = data
        self.offs = offsets
        self.tx.data = &self.view[0] if self.view.shape[0] else NULL
        self.tx.offs = &self.offs[0]
        self.tx.n = self.offs.shape[0] - 1
        self.socks = (live, req)
        self.tx.fd_live = live.fileno()
        self.tx.fd_req = req.fileno()
        memcpy(self.tx.session, <const char *>session, LOB_MOLD_SESSION)
        self.tx.rate = rate
        self.tx.start_seq = start_seq
        self.tx.end_seq = end_seq
        self.tx.packet_size = packet_size
        self.tx.max_per_packet = max_per_packet
        self.tx.drop = drop
        self.tx.reorder = reorder
        self.tx.duplicate = duplicate
        self.tx.seed = seed
        self.tx.heartbeat_ns = seconds_ns(heartbeat) or 1
        self.tx.eos_interval_ns = seconds_ns(eos_interval) or 1
        self.tx.linger_ns = seconds_ns(linger)
        self.tx.max_linger_ns = seconds_ns(max_linger)

    def __dealloc__(self):
        if self.tx != NULL:
            with nogil:
                lob_tx_stop(self.tx)
            free(self.tx)
            self.tx = NULL

    def start(self):
        cdef int err
        with nogil:
            err = lob_tx_start(self.tx)
        if err:
            raise OSError(err, "lob.feed: cannot start the publisher threads")

    def stop(self):
        """Stop and join both threads (bounded: they check every 20-50 ms)."""
        with nogil:
            lob_tx_stop(self.tx)

    @property
    def live_done(self):
        """The live stream is over (end of session sent and lingered, or end_seq reached)."""
        return bool(self.tx.live_done)

    @property
    def next_seq(self):
        return self.tx.next_seq

    @property
    def messages(self):
        return self.tx.n

    @property
    def error(self):
        return self.tx.error

    def counts(self):
        cdef lob_tx_counts c = self.tx.c
        return {"packets": c.packets, "messages": c.messages, "dropped": c.dropped, "reordered": c.reordered,
                "duplicated": c.duplicated, "heartbeats": c.heartbeats, "eos": c.eos, "requests": c.requests,
                "bad_requests": c.bad_requests, "response_packets": c.response_packets,
                "retransmitted": c.retransmitted, "send_errors": c.send_errors, "next_seq": self.tx.next_seq}
