// flow_crypto.hpp - end-to-end encryption of embedded flows (QoS cypher_s).
//
// Key exchange: each end makes an ephemeral X25519 key pair per flow. The
// allocator sends its public half with its request to the runtime daemon,
// which hands it to the acceptor with the grant; the acceptor, which only
// then learns that the flow is encrypted, makes its pair and sends the
// public half as the first record of the flow (see request_flow() in
// embedded_backend.cpp). The daemon, like Ouroboros' IRMd, is the party
// both ends trust: it learns who asked (SO_PEERCRED on a socket in a 0700
// directory) and only relays a public key, so it never knows the flow's
// keys; only the two processes hold the flow's socket. Both ends derive the
// same pair of keys with HKDF-SHA3-256 over the X25519 secret, bound to the
// flow id and to both public keys.
//
// Data: every SDU is sealed with AES-GCM (128 or 256-bit key, from
// cypher_s) into a record: an 8-byte sequence number (the nonce), the
// ciphertext and a 16-byte tag. Each direction has its own key and counts
// its own sequence numbers, so nonces never repeat under a key. A record
// that was altered fails authentication; one whose sequence number is not
// above the last accepted one (a replay) is refused. All primitives come
// from OpenSSL's libcrypto.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace ouroboros::embedded {

inline constexpr std::size_t public_key_size = 32; // X25519
inline constexpr std::size_t seal_header_size = 8; // sequence number
inline constexpr std::size_t aead_tag_size = 16;   // AES-GCM
// What sealing adds to an SDU.
inline constexpr std::size_t seal_overhead = seal_header_size + aead_tag_size;

// Rounds a requested cypher strength up to one that is offered: 0 (none),
// 128 or 256 bits. -ECRYPT for more than 256 bits.
int supported_cypher_bits(std::uint16_t requested, std::uint16_t& offered) noexcept;

// An ephemeral X25519 key pair. Empty (no key) until generate() succeeds.
class key_pair {
public:
    key_pair() noexcept = default;
    ~key_pair();
    key_pair(key_pair&& other) noexcept;
    key_pair& operator=(key_pair&& other) noexcept;
    key_pair(const key_pair&) = delete;
    key_pair& operator=(const key_pair&) = delete;

    // 0 or -ECRYPT (with the reason in detail::set_error_detail()).
    int generate();
    bool empty() const noexcept { return key_ == nullptr; }
    // The raw public key (public_key_size bytes), "" when empty.
    std::string public_key() const;

private:
    friend class flow_cipher;
    void* key_ = nullptr; // EVP_PKEY*
};

// The sealing and opening state of one flow end.
class flow_cipher {
public:
    ~flow_cipher();
    flow_cipher(const flow_cipher&) = delete;
    flow_cipher& operator=(const flow_cipher&) = delete;

    // Derives the keys of flow `flow_id` for the end `side` (0 allocator,
    // 1 acceptor) from our key pair and the peer's public key. nullptr with
    // err = -ECRYPT (and a detail) on failure.
    static std::unique_ptr<flow_cipher> create(const key_pair& mine, std::string_view peer_public,
                                               std::uint64_t flow_id, int side,
                                               std::uint16_t bits, int& err);

    // Seals n bytes from `in` into the record `out` (n + seal_overhead
    // bytes) with the next sequence number, which commit_send() consumes
    // once the record is sent: a record that was never sent does not use
    // one up. Call both under `sending`. 0 or -ECRYPT.
    int seal(const void* in, std::size_t n, void* out);
    void commit_send() noexcept { ++send_seq_; }

    // Opens a record of n bytes in place; the plaintext starts
    // seal_header_size bytes into it. Returns the plaintext length, or
    // -ECRYPT for a record that fails authentication or replays an older
    // one. Callers serialise opens (the flow's read lock).
    long open(void* record, std::size_t n);

    std::uint16_t bits() const noexcept { return bits_; }

    // Held from seal() until the record is sent, so records go out in
    // nonce order when several threads write.
    std::mutex sending;

private:
    flow_cipher() = default;
    void* send_ctx_ = nullptr; // EVP_CIPHER_CTX*
    void* recv_ctx_ = nullptr;
    std::uint64_t send_seq_ = 0;
    std::uint64_t recv_next_ = 0; // lowest sequence number still acceptable
    std::uint16_t bits_ = 0;
};

} // namespace ouroboros::embedded
