# cython: language_level=3
"""The benchmark floor: the same call shapes as OrderBook, doing nothing.

A Python loop calling these costs the loop plus the call and nothing else, so
a book method's time over this is what the book itself adds.
"""


cdef class EmptyBook:
    """Empty methods with OrderBook's signatures (for bench/ baselines)."""

    def add(self, order_id, side, price, qty):
        pass

    def cancel(self, order_id):
        pass

    def reduce(self, order_id, qty):
        pass

    def execute(self, order_id, qty):
        pass

    def modify(self, order_id, price, qty):
        pass

    def trade(self, side, price, qty):
        pass

    def microprice(self):
        pass

    def imbalance(self, levels=1):
        pass

    def depth(self, levels=10):
        pass

    def top(self):
        pass

    # the signal reads (properties and methods of OrderBook)
    def ofi_levels(self):
        pass

    def absorption(self, side):
        pass

    @property
    def ts(self):
        pass

    @property
    def ofi(self):
        pass

    @property
    def trade_imbalance(self):
        pass

    @property
    def volume_delta_ewm(self):
        pass

    @property
    def rolling_vwap(self):
        pass

    @property
    def vwap_deviation_bps(self):
        pass

    @property
    def run_levels(self):
        pass

    @property
    def run_qty(self):
        pass

    @property
    def sweeps(self):
        pass

    @property
    def absorbed_bid(self):
        pass


cdef class EmptyEngine:
    """Empty methods with MatchingEngine's signatures (for bench/ baselines)."""

    def submit(self, order_id, side, price, qty, tif="GTC", post_only=False, *, display_qty=None,
               owner=None, stp="cancel_taker"):
        pass

    def market(self, order_id, side, qty, *, owner=None, stp="cancel_taker"):
        pass

    def cancel(self, order_id):
        pass

    def modify(self, order_id, price, qty):
        pass
