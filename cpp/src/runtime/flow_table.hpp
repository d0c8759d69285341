// flow_table.hpp - flow descriptor -> per-flow state, lock-free to read.
//
// Embedded flow descriptors are the kernel descriptors of the flows'
// sockets, so they are small non-negative integers. A two-level table of
// atomic pointers serves lookups on the I/O path without a lock; the
// wrappers guarantee that no operation runs on a descriptor while it is
// being removed (see flow_handle.hpp).
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>

namespace ouroboros::runtime {

template <class T> class flow_table {
public:
    static constexpr int chunk_bits = 10;
    static constexpr int chunk_size = 1 << chunk_bits;
    static constexpr int chunks = 1024; // descriptors up to 2^20

    ~flow_table()
    {
        for (auto& c : chunks_)
            delete[] c.load();
    }

    T* get(int fd) const noexcept
    {
        if (fd < 0 || fd >= chunk_size * chunks)
            return nullptr;
        auto* chunk = chunks_[fd >> chunk_bits].load(std::memory_order_acquire);
        return chunk ? chunk[fd & (chunk_size - 1)].load(std::memory_order_acquire) : nullptr;
    }

    // False when fd is out of range.
    bool put(int fd, T* value)
    {
        if (fd < 0 || fd >= chunk_size * chunks)
            return false;
        auto& slot = chunks_[fd >> chunk_bits];
        auto* chunk = slot.load(std::memory_order_acquire);
        if (chunk == nullptr) {
            std::lock_guard<std::mutex> lock(grow_);
            chunk = slot.load(std::memory_order_relaxed);
            if (chunk == nullptr) {
                chunk = new std::atomic<T*>[chunk_size]();
                slot.store(chunk, std::memory_order_release);
            }
        }
        chunk[fd & (chunk_size - 1)].store(value, std::memory_order_release);
        return true;
    }

    T* take(int fd) noexcept
    {
        T* value = get(fd);
        if (value)
            chunks_[fd >> chunk_bits].load()[fd & (chunk_size - 1)].store(nullptr);
        return value;
    }

private:
    std::array<std::atomic<std::atomic<T*>*>, chunks> chunks_{};
    std::mutex grow_;
};

} // namespace ouroboros::runtime
