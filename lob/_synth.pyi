"""Type stubs of lob._synth (the loop behind lob.synth.generate)."""
import numpy as np
import numpy.typing as npt

def generate_into(
    out: npt.NDArray[np.void], seed: int, start_price: int, tick: int, lot: int, target_orders: int,
    p_execute: float, p_reduce: float, p_modify: float, p_trade: float, p_far: float, mean_depth: float,
    p_drift: float, start_ts: int, mean_gap_ns: float, first_id: int,
) -> None: ...
