// codec.hpp - encoding, decoding and describing the control protocol's
// messages from their field lists, so that each layout is written once.
//
// A record type lists its fields once, in wire order:
//
//     struct ipcp_enroll {
//         std::int32_t pid = 0;
//         std::string dst;
//         template <class S, class V> static void fields(S& s, V&& v)
//         {
//             v("pid", s.pid);
//             v("dst", s.dst);
//         }
//     };
//
// and encode(), decode(), encoded_size(), same_fields() and describe() walk
// that list. The IRM model (o7s/irm.hpp, o7s/qos.hpp) lists its fields the
// same way, under the attribute names of its Python classes.
//
// On the wire: integers and enums little-endian at their own width, bool as
// u8, strings as a u16 length and bytes, lists as a u32 count and items,
// optionals as u8 present and the value, variants as u8 alternative index and
// the alternative (each alternative names itself with a static `label`).
#pragma once

#include "wire.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace ouroboros::proto {

namespace codec_detail {

struct probe_visitor {
    template <class M> void operator()(const char*, M&) const {}
};

template <class T, class = void> struct has_fields : std::false_type {};
template <class T>
struct has_fields<T, std::void_t<decltype(T::fields(std::declval<T&>(),
                                                    std::declval<probe_visitor&>()))>>
    : std::true_type {};

// Lists: vectors, and sets (kept sorted, as the daemon's registry keeps them).
template <class T> struct is_vector : std::false_type {};
template <class T, class A> struct is_vector<std::vector<T, A>> : std::true_type {};
template <class T, class C, class A> struct is_vector<std::set<T, C, A>> : std::true_type {};
template <class T> struct is_set : std::false_type {};
template <class T, class C, class A> struct is_set<std::set<T, C, A>> : std::true_type {};
template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};
template <class T> struct is_variant : std::false_type {};
template <class... T> struct is_variant<std::variant<T...>> : std::true_type {};

template <class T> using wire_int = std::conditional_t<
    sizeof(T) == 1, std::uint8_t,
    std::conditional_t<sizeof(T) == 2, std::uint16_t,
                       std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>>;

template <class T> constexpr bool is_scalar_v = std::is_integral_v<T> || std::is_enum_v<T>;

template <class T> constexpr bool is_signed_scalar()
{
    if constexpr (std::is_enum_v<T>)
        return std::is_signed_v<std::underlying_type_t<T>>;
    else
        return std::is_signed_v<T>;
}

template <class... T, std::size_t... I>
void decode_alternative(reader& r, std::variant<T...>& out, std::size_t index,
                        std::index_sequence<I...>);

} // namespace codec_detail

template <class T> inline constexpr bool is_record_v = codec_detail::has_fields<T>::value;

// --- encode -------------------------------------------------------------

template <class T> void encode(writer& w, const T& x)
{
    using namespace codec_detail;
    if constexpr (std::is_same_v<T, bool>) {
        w.u8(x ? 1 : 0);
    } else if constexpr (is_scalar_v<T>) {
        using raw = wire_int<T>;
        raw v = static_cast<raw>(x);
        if constexpr (sizeof(T) == 1)
            w.u8(v);
        else if constexpr (sizeof(T) == 2)
            w.u16(v);
        else if constexpr (sizeof(T) == 4)
            w.u32(v);
        else
            w.u64(v);
    } else if constexpr (std::is_same_v<T, std::string>) {
        w.str(x);
    } else if constexpr (is_vector<T>::value) {
        w.u32(static_cast<std::uint32_t>(x.size()));
        for (const auto& item : x)
            encode(w, item);
    } else if constexpr (is_optional<T>::value) {
        w.u8(x.has_value() ? 1 : 0);
        if (x)
            encode(w, *x);
    } else if constexpr (is_variant<T>::value) {
        w.u8(static_cast<std::uint8_t>(x.index()));
        std::visit([&](const auto& alt) { encode(w, alt); }, x);
    } else {
        static_assert(is_record_v<T>, "a wire type needs a field list (fields())");
        T::fields(x, [&](const char*, const auto& m) { encode(w, m); });
    }
}

// --- decode -------------------------------------------------------------

// Throws malformed for a body that does not hold a T.
template <class T> void decode(reader& r, T& x)
{
    using namespace codec_detail;
    if constexpr (std::is_same_v<T, bool>) {
        x = r.u8() != 0;
    } else if constexpr (is_scalar_v<T>) {
        wire_int<T> v;
        if constexpr (sizeof(T) == 1)
            v = r.u8();
        else if constexpr (sizeof(T) == 2)
            v = r.u16();
        else if constexpr (sizeof(T) == 4)
            v = r.u32();
        else
            v = r.u64();
        x = static_cast<T>(v);
    } else if constexpr (std::is_same_v<T, std::string>) {
        x = r.str();
    } else if constexpr (is_vector<T>::value) {
        std::uint32_t n = r.u32();
        // Every item takes at least one byte: a larger count is a lie.
        if (n > r.remaining())
            throw malformed("list longer than the message");
        x.clear();
        for (std::uint32_t i = 0; i < n; ++i) {
            if constexpr (is_set<T>::value) {
                typename T::value_type item{};
                decode(r, item);
                x.insert(std::move(item));
            } else {
                decode(r, x.emplace_back());
            }
        }
    } else if constexpr (is_optional<T>::value) {
        if (r.u8() != 0)
            decode(r, x.emplace());
        else
            x.reset();
    } else if constexpr (is_variant<T>::value) {
        std::size_t index = r.u8();
        if (index >= std::variant_size_v<T>)
            throw malformed("unknown alternative " + std::to_string(index));
        decode_alternative(r, x, index, std::make_index_sequence<std::variant_size_v<T>>());
    } else {
        static_assert(is_record_v<T>, "a wire type needs a field list (fields())");
        T::fields(x, [&](const char*, auto& m) { decode(r, m); });
    }
}

template <class... T, std::size_t... I>
void codec_detail::decode_alternative(reader& r, std::variant<T...>& out, std::size_t index,
                                      std::index_sequence<I...>)
{
    ((index == I ? (decode(r, out.template emplace<I>()), true) : false) || ...);
}

// The whole body as one T (nothing may follow it).
template <class T> T decode_body(reader& r)
{
    T x{};
    decode(r, x);
    r.end();
    return x;
}

// --- sizes and comparison ----------------------------------------------

// Bytes encode() writes for x.
template <class T> std::size_t encoded_size(const T& x)
{
    using namespace codec_detail;
    if constexpr (is_scalar_v<T>) {
        return sizeof(T);
    } else if constexpr (std::is_same_v<T, std::string>) {
        return 2 + x.size();
    } else if constexpr (is_vector<T>::value) {
        std::size_t n = 4;
        for (const auto& item : x)
            n += encoded_size(item);
        return n;
    } else if constexpr (is_optional<T>::value) {
        return 1 + (x ? encoded_size(*x) : 0);
    } else if constexpr (is_variant<T>::value) {
        return 1 + std::visit([](const auto& alt) { return encoded_size(alt); }, x);
    } else {
        std::size_t n = 0;
        T::fields(x, [&](const char*, const auto& m) { n += encoded_size(m); });
        return n;
    }
}

// The bytes encode() writes for x (to compare values field by field).
template <class T> std::vector<std::uint8_t> encoded(const T& x)
{
    writer w(msg::ok);
    encode(w, x);
    const auto& rec = w.record();
    return std::vector<std::uint8_t>(rec.begin() + header_size, rec.end());
}

// True when every field of a and b is equal (records need no operator==).
template <class T> bool same_fields(const T& a, const T& b)
{
    return encoded(a) == encoded(b);
}

namespace codec_detail {

using leaf = std::pair<std::string, std::vector<std::uint8_t>>;

template <class T> void leaves(const T& x, std::vector<leaf>& out, const std::string& prefix)
{
    T::fields(x, [&](const char* name, const auto& m) {
        if constexpr (is_record_v<std::decay_t<decltype(m)>>)
            leaves(m, out, prefix + name + ".");
        else
            out.emplace_back(prefix + name, encoded(m));
    });
}

} // namespace codec_detail

// Dotted paths of the fields in which record a differs from b
// ("unicast.dt.max_ttl").
template <class T> std::vector<std::string> differing_fields(const T& a, const T& b)
{
    std::vector<codec_detail::leaf> la, lb;
    codec_detail::leaves(a, la, "");
    codec_detail::leaves(b, lb, "");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < la.size(); ++i)
        if (la[i].second != lb[i].second)
            out.push_back(la[i].first);
    return out;
}

// --- description, for docs/protocol.md -------------------------------------

struct field_row {
    std::string path; // "conf.unicast.dt.addr_size"
    std::string type; // "u8", "str", "list", ...
};

template <class T> const char* wire_type_name()
{
    using namespace codec_detail;
    if constexpr (std::is_same_v<T, bool>)
        return "bool (u8)";
    else if constexpr (is_scalar_v<T>) {
        constexpr const char* names[2][4] = {{"u8", "u16", "u32", "u64"},
                                             {"i8", "i16", "i32", "i64"}};
        constexpr int w = sizeof(T) == 1 ? 0 : sizeof(T) == 2 ? 1 : sizeof(T) == 4 ? 2 : 3;
        return names[is_signed_scalar<T>() ? 1 : 0][w];
    } else if constexpr (std::is_same_v<T, std::string>)
        return "str";
    else if constexpr (is_vector<T>::value)
        return "list (u32 count)";
    else if constexpr (is_optional<T>::value)
        return "optional (u8 present)";
    else if constexpr (is_variant<T>::value)
        return "variant (u8 alternative)";
    else
        return "record";
}

template <class T> void describe(std::vector<field_row>& rows, const std::string& prefix = {});

namespace codec_detail {

template <class... A>
void describe_alternatives(std::vector<field_row>& rows, const std::string& path,
                           std::variant<A...>*)
{
    std::size_t index = 0;
    ((describe<A>(rows, path + "(" + std::to_string(index++) + ": " + A::label + ")."), ...));
}

template <class M> void describe_member(std::vector<field_row>& rows, const std::string& path)
{
    if constexpr (is_record_v<M>) {
        describe<M>(rows, path + ".");
    } else if constexpr (is_vector<M>::value) {
        rows.push_back({path, wire_type_name<M>()});
        using item = typename M::value_type;
        if constexpr (is_record_v<item> || is_variant<item>::value)
            describe_member<item>(rows, path + "[]");
        else
            rows.push_back({path + "[]", wire_type_name<item>()});
    } else if constexpr (is_optional<M>::value) {
        rows.push_back({path, wire_type_name<M>()});
        describe_member<typename M::value_type>(rows, path);
    } else if constexpr (is_variant<M>::value) {
        rows.push_back({path, wire_type_name<M>()});
        describe_alternatives(rows, path, static_cast<M*>(nullptr));
    } else {
        rows.push_back({path, wire_type_name<M>()});
    }
}

} // namespace codec_detail

// The wire fields of T, depth first, with their dotted paths.
template <class T> void describe(std::vector<field_row>& rows, const std::string& prefix)
{
    T x{};
    T::fields(x, [&](const char* name, auto& m) {
        codec_detail::describe_member<std::decay_t<decltype(m)>>(rows, prefix + name);
    });
}

} // namespace ouroboros::proto
