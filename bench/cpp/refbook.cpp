// refbook: a tight single-file C++17 L3 order book, the yardstick lobcore's
// batch path (OrderBook.apply) is measured against.  Not part of the package.
//
//   refbook FILE apply REPEAT          apply every event, REPEAT fresh books
//   refbook FILE features REPEAT       apply + one feature row per event
//   refbook FILE dump OUTFILE          features once, raw rows written to OUTFILE
//   refbook FILE latency REPEAT        apply + features, per-event cycles (rdtsc)
//
// FILE holds the raw bytes of a NumPy array of lob.EVENT_DTYPE (packed, 34 bytes
// a row, little endian): int64 ts, uint8 kind, int8 side, uint64 order_id,
// int64 price, int64 qty.  A feature row is lob.feature_dtype(0): ts, best_bid,
// best_bid_qty, best_ask, best_ask_qty (int64), microprice, imbalance (double),
// volume_delta (int64); 64 bytes.  Output: one JSON line on stdout.
//
// Book layout
//   orders   pool of 32-byte structs, bump allocation + LIFO free list, each
//            in an intrusive doubly-linked FIFO of its level
//   id map   open addressing, linear probing, 8-byte buckets (tag << 32 |
//            slot + 1; the tag is the top of a Fibonacci hash, so it gives
//            the home bucket and deletion never reads the pool), load at most
//            1/2 as lobcore's, backward-shift deletion (no tombstones)
//   levels   pool of 32-byte structs (price, running qty, FIFO head/tail)
//   ladder   per side, the occupied levels sorted by key with the best last
//            (key = price for bids, ~price for asks, so "better" is "larger"
//            on both sides): top of book is the last entry, O(1); lookups scan
//            from the touch and bisect beyond a few steps
//   pxcache  per side, price & (PXC - 1) -> level, verified on read: adds to a
//            live level skip the ladder search
// No validation: the streams it is given are valid (unknown ids are skipped).
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#define NOINLINE __attribute__((noinline))
#define INLINE inline __attribute__((always_inline))
#define COLD __attribute__((noinline))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

namespace {

constexpr uint32_t NIL = 0xFFFFFFFFu;
enum : uint8_t { ADD = 1, REDUCE = 2, CANCEL = 3, EXECUTE = 4, TRADE = 5, MODIFY = 6, CLEAR = 7 };

struct __attribute__((packed)) Event {
    int64_t ts;
    uint8_t kind;
    int8_t side;
    uint64_t order_id;
    int64_t price;
    int64_t qty;
};
static_assert(sizeof(Event) == 34, "EVENT_DTYPE is 34 bytes");

struct Feature {
    int64_t ts, best_bid, best_bid_qty, best_ask, best_ask_qty;
    double microprice, imbalance;
    int64_t volume_delta;
};
static_assert(sizeof(Feature) == 64, "feature_dtype(0) is 64 bytes");

struct Order {          // 32 bytes, two per cache line
    uint64_t id;
    int64_t qty;
    uint32_t prev, next;
    uint32_t level;
    uint32_t side;
};
static_assert(sizeof(Order) == 32, "");

struct Level {          // 32 bytes; head doubles as the free-list link
    int64_t price;
    int64_t qty;
    uint32_t head, tail;
    uint32_t side;
    uint32_t pad;
};
static_assert(sizeof(Level) == 32, "");

// key[-1] / lvl[-1] is a sentinel (the worst key, level slot 0: price 0,
// qty 0), so the top of an empty side reads as 0 with no branch.
struct Ladder {
    int64_t *key = nullptr;   // ascending, best last: key[0 .. n-1]
    uint32_t *lvl = nullptr;  // parallel: level slot
    uint32_t n = 0, cap = 0;
    INLINE uint32_t top() const { return lvl[static_cast<ptrdiff_t>(n) - 1]; }
};
constexpr uint32_t SENTINEL = 0;  // level slot of every ladder's sentinel

// Knobs, measured on the 2M-event lob.synth stream (2-core EPYC VM):
// LOAD_NUM 2 (load <= 1/4, twice the table) is ~1 ns/event faster, 5 (5/8)
// ~7 ns slower (probe-loop mispredictions); BLOCK_BITS 3 (8 consecutive ids
// per cache line, lobcore's layout for huge books) ~5 ns slower here.
#ifndef LOAD_NUM
#define LOAD_NUM 4  // the id map grows above LOAD_NUM / 8 full
#endif
#ifndef BLOCK_BITS
#define BLOCK_BITS 0  // 2**BLOCK_BITS consecutive ids share a home block
#endif
constexpr uint32_t BLOCK_MASK = (1u << BLOCK_BITS) - 1;
constexpr uint32_t PXC = 4096;  // price cache entries per side (power of two)
constexpr uint32_t LINEAR = 8;  // ladder entries scanned from the touch before bisecting

template <class T>
T *xrealloc(T *p, size_t n) {
    void *q = std::realloc(p, n * sizeof(T));
    if (!q) {
        std::fprintf(stderr, "refbook: out of memory\n");
        std::exit(2);
    }
    return static_cast<T *>(q);
}

inline int64_t side_mask(uint32_t side) { return -static_cast<int64_t>(side); }  // 0 or ~0

struct Book {
    Order *orders = nullptr;
    uint32_t ocap = 0, onext = 0, ofree = NIL;
    Level *levels = nullptr;
    uint32_t lcap = 0, lnext = 0, lfree = NIL;
    uint64_t *table = nullptr;
    uint32_t mask = 0, shift = 0, live = 0, grow_at = 0;
    Ladder lad[2];
    uint32_t pxc[2][PXC];
    int64_t vd = 0;

    void init(uint32_t order_cap, uint32_t level_cap) {
        ocap = order_cap;
        orders = xrealloc(orders, ocap);
        lcap = level_cap;
        levels = xrealloc(levels, lcap);
        uint32_t buckets = 16;
        while (uint64_t(buckets) * LOAD_NUM / 8 < order_cap) buckets <<= 1;
        set_table(buckets);
        for (auto &l : lad) {
            l.cap = level_cap;
            l.key = xrealloc<int64_t>(nullptr, l.cap + 1) + 1;
            l.lvl = xrealloc<uint32_t>(nullptr, l.cap + 1) + 1;
            l.key[-1] = INT64_MIN;
            l.lvl[-1] = SENTINEL;
        }
        reset();
    }
    void set_table(uint32_t buckets) {
        std::free(table);
        table = static_cast<uint64_t *>(std::calloc(buckets, sizeof(uint64_t)));
        if (!table) {
            std::fprintf(stderr, "refbook: out of memory\n");
            std::exit(2);
        }
        mask = buckets - 1;
        shift = 64 - (__builtin_ctz(buckets) - BLOCK_BITS);  // bucket bits minus the in-block bits
        if (shift < 32 + BLOCK_BITS) {  // the tag holds the home's bits up to here
            std::fprintf(stderr, "refbook: id map above 2**32 buckets\n");
            std::exit(2);
        }
        grow_at = static_cast<uint32_t>(uint64_t(buckets) * LOAD_NUM / 8);
    }
    // A fresh, empty book; capacity (and its pages) kept.
    void reset() {
        onext = 0;
        ofree = NIL;
        lnext = SENTINEL + 1;
        levels[SENTINEL] = Level{0, 0, NIL, NIL, 0, 0};
        lfree = NIL;
        live = 0;
        vd = 0;
        std::memset(table, 0, (size_t(mask) + 1) * sizeof(uint64_t));
        for (auto &l : lad) l.n = 0;
        std::memset(pxc, 0xFF, sizeof(pxc));
    }
    // Touch every page we own so the timed loop takes no first-touch faults.
    void prefault() {
        std::memset(orders, 0, size_t(ocap) * sizeof(Order));
        std::memset(levels, 0, size_t(lcap) * sizeof(Level));
        for (auto &l : lad) {
            std::memset(l.key, 0, size_t(l.cap) * sizeof(int64_t));  // the sentinel (key[-1]) is kept
            std::memset(l.lvl, 0, size_t(l.cap) * sizeof(uint32_t));
        }
    }

    // ---- id map ----------------------------------------------------------
    // A bucket is tag << 32 | (slot + 1), 0 when empty.  The tag is the top
    // 32 bits of a Fibonacci hash of id >> BLOCK_BITS with the id's low
    // BLOCK_BITS bits in its own low bits, so the home bucket follows from
    // the tag alone (deletion never reads the pool).  A find still checks the
    // full id in the pool, the line it reads next anyway.
    static INLINE uint32_t tag_of(uint64_t id) {
        const uint64_t h = (id >> BLOCK_BITS) * 0x9E3779B97F4A7C15ull;
        return (static_cast<uint32_t>(h >> 32) & ~BLOCK_MASK) | static_cast<uint32_t>(id & BLOCK_MASK);
    }
    INLINE uint32_t home_of_tag(uint32_t tag) const {  // shift >= 32 while buckets <= 2**32
        return (((tag >> (shift - 32)) << BLOCK_BITS) | (tag & BLOCK_MASK)) & mask;
    }
    // Bucket index holding id, or NIL.
    INLINE uint32_t find(uint64_t id) const {
        const uint32_t tag = tag_of(id);
        for (uint32_t i = home_of_tag(tag);; i = (i + 1) & mask) {
            const uint64_t b = table[i];
            if (!b) return NIL;
            if (static_cast<uint32_t>(b >> 32) == tag && orders[static_cast<uint32_t>(b) - 1].id == id) return i;
        }
    }
    INLINE void insert(uint64_t id, uint32_t slot) {
        if (UNLIKELY(live >= grow_at)) grow_table();
        const uint32_t tag = tag_of(id);
        uint32_t i = home_of_tag(tag);
        while (table[i]) i = (i + 1) & mask;
        table[i] = (uint64_t(tag) << 32) | (uint64_t(slot) + 1);
        ++live;
    }
    INLINE void erase(uint32_t i) {
        uint32_t j = i;
        for (;;) {
            j = (j + 1) & mask;
            const uint64_t b = table[j];
            if (!b) break;
            const uint32_t k = home_of_tag(static_cast<uint32_t>(b >> 32));
            if (((j - k) & mask) >= ((j - i) & mask)) {  // i lies in [k, j): move it back
                table[i] = b;
                i = j;
            }
        }
        table[i] = 0;
        --live;
    }
    COLD void grow_table() {
        uint64_t *old = table;
        const uint32_t n = mask + 1;
        table = nullptr;
        set_table(n * 2);
        for (uint32_t i = 0; i < n; ++i) {
            const uint64_t b = old[i];
            if (!b) continue;
            uint32_t j = home_of_tag(static_cast<uint32_t>(b >> 32));
            while (table[j]) j = (j + 1) & mask;
            table[j] = b;
        }
        std::free(old);
    }

    // ---- pools -----------------------------------------------------------
    INLINE uint32_t new_order() {
        if (ofree != NIL) {
            const uint32_t s = ofree;
            ofree = orders[s].next;
            return s;
        }
        if (UNLIKELY(onext == ocap)) grow_orders();
        return onext++;
    }
    INLINE void free_order(uint32_t s) {
        orders[s].next = ofree;
        ofree = s;
    }
    COLD void grow_orders() {
        ocap *= 2;
        orders = xrealloc(orders, ocap);
    }
    INLINE uint32_t new_level() {
        if (lfree != NIL) {
            const uint32_t s = lfree;
            lfree = levels[s].head;
            return s;
        }
        if (UNLIKELY(lnext == lcap)) grow_levels();
        return lnext++;
    }
    COLD void grow_levels() {
        lcap *= 2;
        levels = xrealloc(levels, lcap);
    }
    COLD void grow_ladder(Ladder &l) {
        l.cap *= 2;
        l.key = xrealloc(l.key - 1, l.cap + 1) + 1;
        l.lvl = xrealloc(l.lvl - 1, l.cap + 1) + 1;
    }

    // ---- ladder ----------------------------------------------------------
    // First position whose key is >= key (std::lower_bound), searched from
    // the touch (the end): a few linear steps, then a bisection.
    static INLINE uint32_t lower_pos(const int64_t *k, uint32_t n, int64_t key) {
        uint32_t p = n;
        const uint32_t stop = n > LINEAR ? n - LINEAR : 0;
        while (p > stop && k[p - 1] >= key) --p;
        if (p != stop || stop == 0) return p;
        return static_cast<uint32_t>(std::lower_bound(k, k + stop, key) - k);
    }
    // The level at (side, price), created (empty) if absent.
    INLINE uint32_t level_at(uint32_t side, int64_t price) {
        uint32_t &c = pxc[side][static_cast<uint64_t>(price) & (PXC - 1)];
        if (c != NIL && levels[c].price == price) return c;  // entries only name live levels of this side
        Ladder &l = lad[side];
        const int64_t key = price ^ side_mask(side);
        const uint32_t p = lower_pos(l.key, l.n, key);
        if (p < l.n && l.key[p] == key) return c = l.lvl[p];
        if (UNLIKELY(l.n == l.cap)) grow_ladder(l);
        const uint32_t s = new_level();
        Level &v = levels[s];
        v.price = price;
        v.qty = 0;
        v.head = v.tail = NIL;
        v.side = side;
        const uint32_t tail = l.n - p;
        if (tail) {
            std::memmove(l.key + p + 1, l.key + p, tail * sizeof(int64_t));
            std::memmove(l.lvl + p + 1, l.lvl + p, tail * sizeof(uint32_t));
        }
        l.key[p] = key;
        l.lvl[p] = s;
        ++l.n;
        return c = s;
    }
    INLINE void drop_level(uint32_t s) {
        Level &v = levels[s];
        const uint32_t side = v.side;
        Ladder &l = lad[side];
        const int64_t key = v.price ^ side_mask(side);
        if (LIKELY(l.key[l.n - 1] == key)) {
            --l.n;  // the touch: the common case
        } else {
            const uint32_t p = lower_pos(l.key, l.n, key);
            const uint32_t tail = l.n - p - 1;
            std::memmove(l.key + p, l.key + p + 1, tail * sizeof(int64_t));
            std::memmove(l.lvl + p, l.lvl + p + 1, tail * sizeof(uint32_t));
            --l.n;
        }
        uint32_t &c = pxc[side][static_cast<uint64_t>(v.price) & (PXC - 1)];
        if (c == s) c = NIL;
        v.head = lfree;
        lfree = s;
    }

    // ---- FIFO ------------------------------------------------------------
    INLINE void link_tail(uint32_t s, uint32_t lv) {
        Level &v = levels[lv];
        Order &o = orders[s];
        o.level = lv;
        o.next = NIL;
        o.prev = v.tail;
        if (v.tail != NIL) orders[v.tail].next = s;
        else v.head = s;
        v.tail = s;
        v.qty += o.qty;
    }
    // Unlink order s from its level; drops the level if it empties.
    INLINE void unlink(uint32_t s) {
        const Order &o = orders[s];
        Level &v = levels[o.level];
        v.qty -= o.qty;
        if (o.prev != NIL) orders[o.prev].next = o.next;
        else v.head = o.next;
        if (o.next != NIL) orders[o.next].prev = o.prev;
        else v.tail = o.prev;
        if (v.head == NIL) drop_level(o.level);
    }

    // ---- events ----------------------------------------------------------
    INLINE void add(uint64_t id, uint32_t side, int64_t price, int64_t qty) {
        const uint32_t s = new_order();
        Order &o = orders[s];
        o.id = id;
        o.qty = qty;
        o.side = side;
        link_tail(s, level_at(side, price));
        insert(id, s);
    }
    INLINE void remove_at(uint32_t bucket, uint32_t s) {
        unlink(s);
        erase(bucket);
        free_order(s);
    }
    INLINE void cancel(uint64_t id) {
        const uint32_t b = find(id);
        if (UNLIKELY(b == NIL)) return;
        remove_at(b, static_cast<uint32_t>(table[b]) - 1);
    }
    INLINE void reduce(uint64_t id, int64_t qty) {
        const uint32_t b = find(id);
        if (UNLIKELY(b == NIL)) return;
        const uint32_t s = static_cast<uint32_t>(table[b]) - 1;
        Order &o = orders[s];
        if (qty >= o.qty) {
            remove_at(b, s);
            return;
        }
        o.qty -= qty;
        levels[o.level].qty -= qty;
    }
    INLINE void execute(uint64_t id, int64_t qty) {
        const uint32_t b = find(id);
        if (UNLIKELY(b == NIL)) return;
        const uint32_t s = static_cast<uint32_t>(table[b]) - 1;
        Order &o = orders[s];
        if (qty > o.qty) qty = o.qty;
        vd += o.side ? qty : -qty;  // a resting ask trades with a buyer
        if (qty == o.qty) {
            remove_at(b, s);
            return;
        }
        o.qty -= qty;
        levels[o.level].qty -= qty;
    }
    // Cancel-replace: priority kept only when the price is unchanged and the
    // qty does not grow (lobcore's contract).
    INLINE void modify(uint64_t id, int64_t price, int64_t qty) {
        const uint32_t b = find(id);
        if (UNLIKELY(b == NIL)) return;
        const uint32_t s = static_cast<uint32_t>(table[b]) - 1;
        Order &o = orders[s];
        if (price == levels[o.level].price && qty <= o.qty) {
            levels[o.level].qty -= o.qty - qty;
            o.qty = qty;
            return;
        }
        unlink(s);
        o.qty = qty;
        link_tail(s, level_at(o.side, price));
    }
    INLINE void trade(int side, int64_t qty) {
        if (side == 0) vd += qty;
        else if (side == 1) vd -= qty;
    }
    COLD void clear() {
        const int64_t keep = vd;
        reset();
        vd = keep;
    }

    INLINE void apply(const Event &e) {
        switch (e.kind) {
            case ADD: add(e.order_id, static_cast<uint32_t>(e.side), e.price, e.qty); break;
            case CANCEL: cancel(e.order_id); break;
            case EXECUTE: execute(e.order_id, e.qty); break;
            case REDUCE: reduce(e.order_id, e.qty); break;
            case MODIFY: modify(e.order_id, e.price, e.qty); break;
            case TRADE: trade(e.side, e.qty); break;
            case CLEAR: clear(); break;
            default: break;
        }
    }

    // Branch-free: an empty side reads as the sentinel (0, 0); a level's qty
    // is never 0, so bq == 0 means "no bid".  0/0 is computed and discarded.
    INLINE void row(Feature &f, int64_t ts) const {
        const Level &b = levels[lad[0].top()];
        const Level &a = levels[lad[1].top()];
        const int64_t bb = b.price, bq = b.qty, ba = a.price, aq = a.qty, delta = vd;
        const double dbq = (double)bq, daq = (double)aq;
        const double micro = ((double)bb * daq + (double)ba * dbq) / (dbq + daq);  // summed in doubles, as lobcore
        const double imb = (dbq - daq) / (dbq + daq);
        f.ts = ts;
        f.best_bid = bb;
        f.best_bid_qty = bq;
        f.best_ask = ba;
        f.best_ask_qty = aq;
        f.microprice = (bq != 0) & (aq != 0) ? micro : NAN;
        f.imbalance = (bq | aq) != 0 ? imb : NAN;
        f.volume_delta = delta;
    }

    uint64_t state_checksum() const {
        uint64_t h = 1469598103934665603ull;
        auto mix = [&h](uint64_t x) { h = (h ^ x) * 1099511628211ull; };
        mix(live);
        mix(static_cast<uint64_t>(vd));
        for (uint32_t side = 0; side < 2; ++side) {
            const Ladder &l = lad[side];
            mix(l.n);
            for (uint32_t i = l.n; i-- > 0;) {
                const Level &v = levels[l.lvl[i]];
                mix(static_cast<uint64_t>(v.price));
                mix(static_cast<uint64_t>(v.qty));
                for (uint32_t s = v.head; s != NIL; s = orders[s].next) mix(orders[s].id);
            }
        }
        return h;
    }
};

inline const Event *event_at(const unsigned char *base, size_t i) {
    return reinterpret_cast<const Event *>(base + i * sizeof(Event));
}

// The timed loops: separate, never inlined, so callgrind's inclusive count of
// each is the event loop alone.
extern "C" NOINLINE void run_apply(Book *book, const unsigned char *ev, size_t n) {
    for (size_t i = 0; i < n; ++i) book->apply(*event_at(ev, i));
}

extern "C" NOINLINE void run_features(Book *book, const unsigned char *ev, size_t n, Feature *out) {
    for (size_t i = 0; i < n; ++i) {
        const Event &e = *event_at(ev, i);
        book->apply(e);
        book->row(out[i], e.ts);
    }
}

extern "C" NOINLINE void run_latency(Book *book, const unsigned char *ev, size_t n, Feature *out, uint32_t *cycles) {
#if defined(__x86_64__)
    for (size_t i = 0; i < n; ++i) {
        const Event &e = *event_at(ev, i);
        unsigned aux;
        const uint64_t t0 = __rdtscp(&aux);
        book->apply(e);
        book->row(out[i], e.ts);
        const uint64_t t1 = __rdtscp(&aux);
        const uint64_t d = t1 - t0;
        cycles[i] = d > 0xFFFFFFFFull ? 0xFFFFFFFFu : static_cast<uint32_t>(d);
    }
#else
    (void)book; (void)ev; (void)n; (void)out; (void)cycles;
#endif
}

uint64_t rows_checksum(const Feature *rows, size_t n) {
    uint64_t h = 1469598103934665603ull;
    const uint64_t *w = reinterpret_cast<const uint64_t *>(rows);
    for (size_t i = 0; i < n * 8; ++i) h = (h ^ w[i]) * 1099511628211ull;
    return h;
}

double now_ns() {
    return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

int usage() {
    std::fprintf(stderr,
                 "usage: refbook FILE apply|features|latency REPEAT\n"
                 "       refbook FILE dump OUTFILE\n");
    return 1;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 4) return usage();
    const std::string mode = argv[2];
    if (mode != "apply" && mode != "features" && mode != "dump" && mode != "latency") return usage();
#if !defined(__x86_64__)
    if (mode == "latency") {
        std::fprintf(stderr, "refbook: the latency mode reads the x86-64 TSC\n");
        return 1;
    }
#endif
    const long repeat = mode == "dump" ? 1 : std::atol(argv[3]);
    if (repeat < 1) return usage();

    FILE *fp = std::fopen(argv[1], "rb");
    if (!fp) {
        std::perror(argv[1]);
        return 1;
    }
    std::fseek(fp, 0, SEEK_END);
    const long bytes = std::ftell(fp);
    std::fseek(fp, 0, SEEK_SET);
    if (bytes < 0 || bytes % sizeof(Event)) {
        std::fprintf(stderr, "refbook: %s is not a whole number of 34-byte events\n", argv[1]);
        return 1;
    }
    const size_t n = static_cast<size_t>(bytes) / sizeof(Event);
    std::vector<unsigned char> raw(static_cast<size_t>(bytes) + 64);
    if (n && std::fread(raw.data(), 1, static_cast<size_t>(bytes), fp) != static_cast<size_t>(bytes)) {
        std::fprintf(stderr, "refbook: short read\n");
        return 1;
    }
    std::fclose(fp);

    // Pools start small and grow (doubling) as a real feed handler's would;
    // growth happens in the first repeat only, later repeats reuse the
    // capacity.  Every page owned is touched here, outside the timing.
    Book book;
    book.init(1u << 14, 1024);
    book.prefault();

    std::vector<Feature> out;
    if (mode != "apply") {
        out.resize(n);  // value-initialised: every page touched before timing
    }
    std::vector<uint32_t> cycles;
    if (mode == "latency") cycles.resize(n);

    std::vector<double> ns;
    uint64_t checksum = 0;
    for (long r = 0; r < repeat; ++r) {
        book.reset();
        const double t0 = now_ns();
        if (mode == "apply") run_apply(&book, raw.data(), n);
        else if (mode == "latency") run_latency(&book, raw.data(), n, out.data(), cycles.data());
        else run_features(&book, raw.data(), n, out.data());
        const double t1 = now_ns();
        ns.push_back(n ? (t1 - t0) / static_cast<double>(n) : 0.0);
        checksum = mode == "apply" ? book.state_checksum() : rows_checksum(out.data(), n);
    }

    if (mode == "dump") {
        FILE *of = std::fopen(argv[3], "wb");
        if (!of || (n && std::fwrite(out.data(), sizeof(Feature), n, of) != n) || std::fclose(of)) {
            std::perror(argv[3]);
            return 1;
        }
    }

    std::printf("{\"mode\":\"%s\",\"events\":%zu,\"ns_per_event\":[", mode.c_str(), n);
    for (size_t i = 0; i < ns.size(); ++i) std::printf("%s%.3f", i ? "," : "", ns[i]);
    std::printf("],\"checksum\":%" PRIu64 ",\"resting\":%u,\"bid_levels\":%u,\"ask_levels\":%u,"
                "\"order_capacity\":%u,\"id_buckets\":%u",
                checksum, book.live, book.lad[0].n, book.lad[1].n, book.ocap, book.mask + 1);
#if defined(__x86_64__)
    if (mode == "latency" && n) {
        // cycles -> ns: the TSC rate from a short calibration against steady_clock
        unsigned aux;
        const double c0 = now_ns();
        const uint64_t k0 = __rdtscp(&aux);
        while (now_ns() - c0 < 2e7) {
        }
        const uint64_t k1 = __rdtscp(&aux);
        const double c1 = now_ns();
        const double ns_per_cycle = (c1 - c0) / static_cast<double>(k1 - k0);
        // the timer's own cost: the median of back-to-back rdtscp pairs
        std::vector<uint32_t> empty(10001);
        for (auto &d : empty) {
            const uint64_t t0 = __rdtscp(&aux);
            const uint64_t t1 = __rdtscp(&aux);
            d = static_cast<uint32_t>(t1 - t0);
        }
        std::nth_element(empty.begin(), empty.begin() + 5000, empty.end());
        std::vector<uint32_t> sorted(cycles);
        std::sort(sorted.begin(), sorted.end());
        auto pct = [&](double q) {
            size_t i = static_cast<size_t>(q * static_cast<double>(n - 1) + 0.5);
            return sorted[std::min(i, n - 1)] * ns_per_cycle;
        };
        std::printf(",\"latency_ns\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p99.9\":%.1f,\"max\":%.1f},"
                    "\"timer_overhead_ns\":%.1f,\"ns_per_cycle\":%.6f",
                    pct(0.5), pct(0.9), pct(0.99), pct(0.999), sorted[n - 1] * ns_per_cycle,
                    empty[5000] * ns_per_cycle, ns_per_cycle);
    }
#endif
    std::printf("}\n");
    return 0;
}
