// o7s/sdu.hpp - how batches of SDUs are described to read_many/write_many.
//
// Plain views, like struct iovec: the library never owns or keeps them past
// the call.
#pragma once

#include <cstddef>

namespace ouroboros {

// One SDU to write: `size` bytes at `data`.
struct sdu_view {
    const void* data = nullptr;
    std::size_t size = 0;
};

// One SDU to read: a buffer of `size` bytes at `data` going in; the number
// of bytes read into it coming out.
struct sdu_buffer {
    void* data = nullptr;
    std::size_t size = 0;
};

} // namespace ouroboros
