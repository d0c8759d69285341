// state_file.cpp - writing and reading irmd.state (state_file.hpp).
#include "state_file.hpp"

#include "runtime/codec.hpp"
#include "runtime/unique_fd.hpp"
#include "runtime/wire.hpp"
#include "runtime/write_all.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ouroboros::daemon {
namespace {

constexpr char state_magic[8] = {'O', '7', 'S', 'S', 'T', 'A', 'T', 'E'};

std::uint64_t fnv1a(const std::uint8_t* p, std::size_t n, std::uint64_t h = 14695981039346656037ull)
{
    for (std::size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

std::uint64_t fnv1a(const std::string& s, std::uint64_t h)
{
    return fnv1a(reinterpret_cast<const std::uint8_t*>(s.data()), s.size(), h);
}

std::string os_error(const std::string& what)
{
    return what + ": " + std::strerror(errno);
}

std::string directory_of(const std::string& path)
{
    auto slash = path.rfind('/');
    return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

} // namespace

std::uint64_t state_layout()
{
    static const std::uint64_t layout = [] {
        std::vector<proto::field_row> rows;
        proto::describe<saved_state>(rows);
        std::uint64_t h = fnv1a(nullptr, 0);
        for (const auto& r : rows)
            h = fnv1a(r.type + "\n", fnv1a(r.path + " ", h));
        return h;
    }();
    return layout;
}

std::vector<std::uint8_t> encode_state(const saved_state& s)
{
    proto::writer body;
    proto::encode(body, s);
    const auto& b = body.data();
    proto::writer file;
    for (char c : state_magic)
        file.u8(static_cast<std::uint8_t>(c));
    file.u32(state_format).u32(0).u64(state_layout()).u64(b.size()).u64(fnv1a(b.data(), b.size()));
    std::vector<std::uint8_t> out = file.data();
    out.insert(out.end(), b.begin(), b.end());
    return out;
}

int decode_state(const std::uint8_t* data, std::size_t size, saved_state& out, std::string& why)
{
    if (size < state_header_size || std::memcmp(data, state_magic, sizeof state_magic) != 0) {
        why = "it is no state file of o7s-irmd";
        return -EINVAL;
    }
    proto::reader h(data + sizeof state_magic, state_header_size - sizeof state_magic);
    const std::uint32_t format = h.u32();
    h.u32();
    const std::uint64_t layout = h.u64();
    const std::uint64_t length = h.u64();
    const std::uint64_t checksum = h.u64();
    if (format != state_format || layout != state_layout()) {
        why = "it was written by another version of o7s-irmd (format " + std::to_string(format) +
              ", layout " + std::to_string(layout) + "; this one reads format " +
              std::to_string(state_format) + ", layout " + std::to_string(state_layout()) + ")";
        return -EINVAL;
    }
    const std::uint8_t* body = data + state_header_size;
    if (length != size - state_header_size || fnv1a(body, length) != checksum) {
        why = "it is truncated or corrupt (its length or checksum does not match)";
        return -EINVAL;
    }
    try {
        proto::reader r(body, length);
        out = proto::decode_body<saved_state>(r);
    } catch (const proto::malformed& e) {
        why = std::string("its body does not decode: ") + e.what();
        return -EINVAL;
    }
    return 0;
}

int write_state(const std::string& path, const saved_state& s, std::string& why)
{
    const std::vector<std::uint8_t> bytes = encode_state(s);
    const std::string tmp = path + ".tmp";
    runtime::unique_fd fd(
        ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) {
        int err = errno;
        why = os_error("cannot create " + tmp);
        return -err;
    }
    if (int rc = runtime::write_all(fd.get(), bytes.data(), bytes.size()); rc < 0) {
        why = "cannot write " + tmp + ": " + std::strerror(-rc);
        ::unlink(tmp.c_str());
        return rc;
    }
    if (::fdatasync(fd.get()) != 0 || ::close(fd.release()) != 0) {
        int err = errno;
        why = os_error("cannot flush " + tmp);
        ::unlink(tmp.c_str());
        return -err;
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        why = os_error("cannot rename " + tmp + " to " + path);
        ::unlink(tmp.c_str());
        return -err;
    }
    // The rename itself reaches the disk with the directory.
    runtime::unique_fd dir(::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir)
        ::fsync(dir.get());
    return 0;
}

std::string set_state_aside(const std::string& path)
{
    std::string aside = path + ".unusable";
    if (::rename(path.c_str(), aside.c_str()) == 0)
        return aside;
    ::unlink(path.c_str());
    return {};
}

state_read read_state(const std::string& path, saved_state& out, std::string& why)
{
    runtime::unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd && errno == ENOENT)
        return state_read::absent;
    std::vector<std::uint8_t> bytes;
    struct stat st{};
    if (!fd) {
        why = os_error("cannot open it");
    } else if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        why = "it is not a regular file";
    } else if (static_cast<std::size_t>(st.st_size) > max_state_size) {
        why = "it is larger than " + std::to_string(max_state_size) + " bytes";
    } else {
        bytes.resize(static_cast<std::size_t>(st.st_size));
        std::size_t got = 0;
        while (got < bytes.size()) {
            ssize_t n = ::read(fd.get(), bytes.data() + got, bytes.size() - got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            got += static_cast<std::size_t>(n);
        }
        bytes.resize(got);
        if (decode_state(bytes.data(), bytes.size(), out, why) == 0)
            return state_read::loaded;
    }
    fd.reset();
    std::string aside = set_state_aside(path);
    why = "state file " + path + " is unusable: " + why + "; " +
          (aside.empty() ? "removed it" : "set it aside as " + aside) +
          " and starting with a fresh registry";
    return state_read::set_aside;
}

} // namespace ouroboros::daemon
