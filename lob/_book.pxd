# The Python faces of the book core (src/lob_book.h, declared in _core.pxd):
# a read API apart from the write API, as hftbacktest's depth separates its
# read and update traits.
#
#   BookReader   every reader of the contract, over a lob_book it does not own
#   OrderBook    a book of your own: BookReader plus every writer
#   BookView     a read-only face of a book someone else owns (MatchingEngine.book)
#
# Other Cython modules use the core through `core` (lob_book *) and the
# functions of _core.pxd, never through Python methods.
cimport cython
from libc.stdint cimport int64_t, uint64_t, uint32_t

from lob._core cimport lob_book


# The readers' check, inline (a cdef method of a base class is an indirect
# call): the face is attached to a book and no batch runs on it.
cdef int refuse_read(lob_book *core) except -1


cdef inline int can_read(lob_book *core) except -1:
    if core == NULL or core.busy:
        return refuse_read(core)
    return 0


cdef class BookReader:
    cdef lob_book *core
    cdef object owner            # keeps the memory of `core` alive (itself, or the engine)

    cdef int guard(self) except -1
    cdef uint32_t _slot(self, object order_id) except? 0xFFFFFFFF
    cdef int _side_then_price(self, object side, object price) except -1
    cdef tuple _side_depth(self, int side, Py_ssize_t want)


@cython.final
cdef class OrderBook(BookReader):
    cdef lob_book book
    cdef readonly dict last_rejected

    cdef int fail(self, object side=*) except -1
    cdef int64_t clock(self, object ts) except? -1


@cython.final
cdef class BookView(BookReader):
    pass


cdef BookView view_of(lob_book *core, object owner)
