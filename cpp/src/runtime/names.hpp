// names.hpp - what a name may be, checked where names enter: the C++ API
// (cpp/src/irm.cpp, flow.cpp, for both backends) and the daemon.
//
// The real Ouroboros (0.23) keeps names, IPCP names and layer names in
// buffers of NAME_SIZE, IPCP_NAME_SIZE and LAYER_NAME_SIZE (255) bytes and a
// name's security paths in NAME_PATH_SIZE (NAME_SIZE + 256) bytes. Names
// must also be valid UTF-8 (every program shows and compares them as
// text; Python decodes them) and hold no NUL (the C API ends them there).
// Header-only, so the API folder uses it too.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

namespace ouroboros::runtime {

inline constexpr std::size_t max_name_size = 255;      // NAME_SIZE and the others
inline constexpr std::size_t max_name_path_size = 511; // NAME_PATH_SIZE

// The length of the UTF-8 sequence at s[i] (1-4), or 0 when the bytes
// there are no valid one (overlong forms, surrogates, beyond U+10FFFF).
inline std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept
{
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
    const unsigned char c = b(0);
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return cont(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (!cont(1) || !cont(2))
            return 0;
        if ((c == 0xE0 && b(1) < 0xA0) || (c == 0xED && b(1) > 0x9F))
            return 0; // overlong, or a surrogate
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (!cont(1) || !cont(2) || !cont(3))
            return 0;
        if ((c == 0xF0 && b(1) < 0x90) || (c == 0xF4 && b(1) > 0x8F))
            return 0; // overlong, or beyond U+10FFFF
        return 4;
    }
    return 0;
}

// The offset of the first byte that is not valid UTF-8, or npos.
inline std::size_t invalid_utf8_at(std::string_view s) noexcept
{
    for (std::size_t i = 0; i < s.size();) {
        std::size_t n = utf8_sequence(s, i);
        if (n == 0)
            return i;
        i += n;
    }
    return std::string_view::npos;
}

// `s` fit to print in a message: invalid UTF-8 and control characters as
// \xNN, at most about `limit` bytes.
inline std::string printable(std::string_view s, std::size_t limit = 64)
{
    std::string out;
    for (std::size_t i = 0; i < s.size(); ) {
        if (out.size() >= limit) {
            out += "...";
            break;
        }
        std::size_t n = utf8_sequence(s, i);
        if (n == 0 || static_cast<unsigned char>(s[i]) < 0x20 || s[i] == 0x7F) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(s[i]));
            out += hex;
            i += 1;
        } else {
            out.append(s.substr(i, n));
            i += n;
        }
    }
    return out;
}

// 0, or -EINVAL / -ENAMETOOLONG with a sentence in `why` for a name (an
// IPCP's, a layer's: `what` says which) that Ouroboros could not hold.
inline int check_name(std::string_view name, std::string& why, const char* what = "name")
{
    if (name.empty()) {
        why = std::string("a ") + what + " cannot be empty";
        return -EINVAL;
    }
    if (name.size() > max_name_size) {
        why = std::string(what) + " '" + printable(name) + "' is " + std::to_string(name.size()) +
              " bytes long; the limit is " + std::to_string(max_name_size);
        return -ENAMETOOLONG;
    }
    if (name.find('\0') != std::string_view::npos) {
        why = std::string("a ") + what + " cannot contain a NUL character ('" + printable(name) +
              "')";
        return -EINVAL;
    }
    if (std::size_t at = invalid_utf8_at(name); at != std::string_view::npos) {
        why = std::string(what) + " '" + printable(name) + "' is not valid UTF-8 (at byte " +
              std::to_string(at) + ")";
        return -EINVAL;
    }
    return 0;
}

// 0, or -EINVAL / -ENAMETOOLONG for one of a name's security paths ("" is
// none).
inline int check_name_path(std::string_view path, std::string& why, const char* what)
{
    if (path.size() > max_name_path_size) {
        why = std::string(what) + " is " + std::to_string(path.size()) +
              " bytes long; the limit is " + std::to_string(max_name_path_size);
        return -ENAMETOOLONG;
    }
    if (path.find('\0') != std::string_view::npos) {
        why = std::string(what) + " cannot contain a NUL character";
        return -EINVAL;
    }
    return 0;
}

} // namespace ouroboros::runtime
