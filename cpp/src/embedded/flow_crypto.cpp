// flow_crypto.cpp - X25519, HKDF-SHA3-256 and AES-GCM through libcrypto.
#include "flow_crypto.hpp"

#include <o7s/detail/backend.hpp>
#include <o7s/error.hpp>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <climits>
#include <cstring>
#include <utility>
#include <vector>

namespace ouroboros::embedded {
namespace {

constexpr std::size_t nonce_size = 12;

// Fails with -ECRYPT, naming the step and OpenSSL's reason.
int crypto_failure(const char* step)
{
    char reason[256] = "unknown reason";
    if (unsigned long e = ERR_get_error())
        ERR_error_string_n(e, reason, sizeof reason);
    ERR_clear_error();
    detail::set_error_detail(std::string(step) + " failed (" + reason + ")");
    return -errc::crypt;
}

EVP_PKEY* pkey(void* p) noexcept
{
    return static_cast<EVP_PKEY*>(p);
}

EVP_CIPHER_CTX* cctx(void* p) noexcept
{
    return static_cast<EVP_CIPHER_CTX*>(p);
}

void put_be64(std::uint64_t v, unsigned char* p) noexcept
{
    for (int i = 0; i < 8; ++i)
        p[i] = static_cast<unsigned char>(v >> (8 * (7 - i)));
}

std::uint64_t get_be64(const unsigned char* p) noexcept
{
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
        v = (v << 8) | p[i];
    return v;
}

// The nonce of message `seq`: 4 zero bytes, then seq big-endian. Each
// direction has its own key, so the counters may overlap.
void make_nonce(std::uint64_t seq, unsigned char (&nonce)[nonce_size]) noexcept
{
    std::memset(nonce, 0, 4);
    put_be64(seq, nonce + 4);
}

struct pkey_ctx_deleter {
    void operator()(EVP_PKEY_CTX* c) const noexcept { EVP_PKEY_CTX_free(c); }
};
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_deleter>;

struct pkey_deleter {
    void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;

// Secret bytes that are wiped when they go.
struct secret {
    std::vector<unsigned char> bytes;
    explicit secret(std::size_t n) : bytes(n) {}
    ~secret() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

} // namespace

int supported_cypher_bits(std::uint16_t requested, std::uint16_t& offered) noexcept
{
    if (requested == 0)
        offered = 0;
    else if (requested <= 128)
        offered = 128;
    else if (requested <= 256)
        offered = 256;
    else
        return -errc::crypt;
    return 0;
}

// ------------------------------------------------------------------ key_pair

key_pair::~key_pair()
{
    EVP_PKEY_free(pkey(key_));
}

key_pair::key_pair(key_pair&& other) noexcept : key_(std::exchange(other.key_, nullptr)) {}

key_pair& key_pair::operator=(key_pair&& other) noexcept
{
    if (this != &other) {
        EVP_PKEY_free(pkey(key_));
        key_ = std::exchange(other.key_, nullptr);
    }
    return *this;
}

int key_pair::generate()
{
    pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, nullptr));
    EVP_PKEY* k = nullptr;
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0 || EVP_PKEY_keygen(ctx.get(), &k) <= 0)
        return crypto_failure("X25519 key generation");
    EVP_PKEY_free(pkey(key_));
    key_ = k;
    return 0;
}

std::string key_pair::public_key() const
{
    if (key_ == nullptr)
        return {};
    unsigned char raw[public_key_size];
    std::size_t len = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(pkey(key_), raw, &len) <= 0 || len != sizeof raw)
        return {};
    return std::string(reinterpret_cast<const char*>(raw), len);
}

// --------------------------------------------------------------- flow_cipher

flow_cipher::~flow_cipher()
{
    EVP_CIPHER_CTX_free(cctx(send_ctx_));
    EVP_CIPHER_CTX_free(cctx(recv_ctx_));
}

std::unique_ptr<flow_cipher> flow_cipher::create(const key_pair& mine,
                                                 std::string_view peer_public,
                                                 std::uint64_t flow_id, int side,
                                                 std::uint16_t bits, int& err)
{
    err = 0;
    const EVP_CIPHER* aead = bits == 128 ? EVP_aes_128_gcm() : bits == 256 ? EVP_aes_256_gcm()
                                                                           : nullptr;
    if (aead == nullptr || mine.empty() || peer_public.size() != public_key_size) {
        detail::set_error_detail(aead == nullptr ? "unsupported cypher strength"
                                                 : "the peer sent no usable public key");
        err = -errc::crypt;
        return nullptr;
    }
    const std::size_t key_size = bits / 8;

    // The X25519 shared secret.
    pkey_ptr peer(EVP_PKEY_new_raw_public_key(
        EVP_PKEY_X25519, nullptr, reinterpret_cast<const unsigned char*>(peer_public.data()),
        peer_public.size()));
    pkey_ctx_ptr dh(EVP_PKEY_CTX_new(pkey(mine.key_), nullptr));
    secret shared(public_key_size);
    std::size_t shared_len = shared.bytes.size();
    if (!peer || !dh || EVP_PKEY_derive_init(dh.get()) <= 0 ||
        EVP_PKEY_derive_set_peer(dh.get(), peer.get()) <= 0 ||
        EVP_PKEY_derive(dh.get(), shared.bytes.data(), &shared_len) <= 0 ||
        shared_len != shared.bytes.size()) {
        err = crypto_failure("X25519 key agreement");
        return nullptr;
    }

    // Two keys, allocator->acceptor then acceptor->allocator, bound to the
    // flow and to both public keys (allocator's first).
    std::string ours = mine.public_key();
    std::string info = "o7s flow keys v1";
    info.push_back(static_cast<char>(bits >> 8));
    info.push_back(static_cast<char>(bits & 0xff));
    info += side == 0 ? ours : std::string(peer_public);
    info += side == 0 ? std::string(peer_public) : ours;
    unsigned char salt[16] = {'o', '7', 's', '-', 'f', 'l', 'o', 'w'};
    for (int i = 0; i < 8; ++i)
        salt[8 + i] = static_cast<unsigned char>(flow_id >> (8 * i));
    secret keys(2 * key_size);
    std::size_t keys_len = keys.bytes.size();
    pkey_ctx_ptr kdf(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr));
    if (!kdf || EVP_PKEY_derive_init(kdf.get()) <= 0 ||
        EVP_PKEY_CTX_set_hkdf_md(kdf.get(), EVP_sha3_256()) <= 0 ||
        EVP_PKEY_CTX_set1_hkdf_salt(kdf.get(), salt, sizeof salt) <= 0 ||
        EVP_PKEY_CTX_set1_hkdf_key(kdf.get(), shared.bytes.data(),
                                   static_cast<int>(shared.bytes.size())) <= 0 ||
        EVP_PKEY_CTX_add1_hkdf_info(kdf.get(), reinterpret_cast<const unsigned char*>(info.data()),
                                    static_cast<int>(info.size())) <= 0 ||
        EVP_PKEY_derive(kdf.get(), keys.bytes.data(), &keys_len) <= 0 ||
        keys_len != keys.bytes.size()) {
        err = crypto_failure("HKDF-SHA3-256 key derivation");
        return nullptr;
    }

    std::unique_ptr<flow_cipher> c(new flow_cipher());
    c->bits_ = bits;
    c->send_ctx_ = EVP_CIPHER_CTX_new();
    c->recv_ctx_ = EVP_CIPHER_CTX_new();
    const unsigned char* send_key = keys.bytes.data() + (side == 0 ? 0 : key_size);
    const unsigned char* recv_key = keys.bytes.data() + (side == 0 ? key_size : 0);
    if (c->send_ctx_ == nullptr || c->recv_ctx_ == nullptr ||
        EVP_EncryptInit_ex(cctx(c->send_ctx_), aead, nullptr, send_key, nullptr) <= 0 ||
        EVP_DecryptInit_ex(cctx(c->recv_ctx_), aead, nullptr, recv_key, nullptr) <= 0) {
        err = crypto_failure("AES-GCM set-up");
        return nullptr;
    }
    return c;
}

int flow_cipher::seal(const void* in, std::size_t n, void* out)
{
    if (n > static_cast<std::size_t>(INT_MAX))
        return -EMSGSIZE;
    auto* rec = static_cast<unsigned char*>(out);
    put_be64(send_seq_, rec);
    unsigned char nonce[nonce_size];
    make_nonce(send_seq_, nonce);
    unsigned char* body = rec + seal_header_size;
    int len = 0;
    int tail = 0;
    EVP_CIPHER_CTX* ctx = cctx(send_ctx_);
    if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce) <= 0 ||
        EVP_EncryptUpdate(ctx, body, &len, static_cast<const unsigned char*>(in),
                          static_cast<int>(n)) <= 0 ||
        EVP_EncryptFinal_ex(ctx, body + len, &tail) <= 0 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, aead_tag_size, body + n) <= 0)
        return crypto_failure("AES-GCM encryption");
    return 0;
}

long flow_cipher::open(void* record, std::size_t n)
{
    if (n < seal_overhead || n - seal_overhead > static_cast<std::size_t>(INT_MAX)) {
        detail::set_error_detail("received a record too short to be sealed; it was dropped");
        return -errc::crypt;
    }
    auto* rec = static_cast<unsigned char*>(record);
    const std::uint64_t seq = get_be64(rec);
    if (seq < recv_next_) {
        detail::set_error_detail("a replayed SDU was dropped");
        return -errc::crypt;
    }
    const std::size_t body = n - seal_overhead;
    unsigned char nonce[nonce_size];
    make_nonce(seq, nonce);
    unsigned char* p = rec + seal_header_size;
    int len = 0;
    int tail = 0;
    EVP_CIPHER_CTX* ctx = cctx(recv_ctx_);
    if (EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce) <= 0 ||
        EVP_DecryptUpdate(ctx, p, &len, p, static_cast<int>(body)) <= 0 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, aead_tag_size, p + body) <= 0 ||
        EVP_DecryptFinal_ex(ctx, p + len, &tail) <= 0) {
        ERR_clear_error();
        detail::set_error_detail("an SDU failed authentication (it was altered or forged); "
                                 "it was dropped");
        return -errc::crypt;
    }
    recv_next_ = seq + 1;
    return static_cast<long>(body);
}

} // namespace ouroboros::embedded
