// o7s/error.hpp - the one exception type of the C++ API.
//
// Every failing call throws ouroboros::error, a std::system_error whose code
// is an errno value in ouroboros::category(). The category knows Ouroboros'
// own codes (1000 and up), which libc's strerror() does not.
#pragma once

#include <string>
#include <system_error>

namespace ouroboros {

// Ouroboros-specific error numbers (values of Ouroboros 0.22/0.23).
namespace errc {
inline constexpr int not_allocated = 1000; // ENOTALLOC
inline constexpr int ipcp_type = 1001;     // EIPCPTYPE
inline constexpr int irmd = 1002;          // EIRMD
inline constexpr int ipcp = 1003;          // EIPCP
inline constexpr int ipcp_state = 1004;    // EIPCPSTATE
inline constexpr int flow_down = 1005;     // EFLOWDOWN
inline constexpr int flow_peer = 1006;     // EFLOWPEER
inline constexpr int name = 1007;          // ENAME
inline constexpr int crypt = 1008;         // ECRYPT
inline constexpr int auth = 1009;          // EAUTH
} // namespace errc

// The category for errno values, including the Ouroboros codes above. An
// errno value is equivalent to its std::errc condition:
// e.code() == std::errc::timed_out works.
const std::error_category& category() noexcept;

// Message for an error number: Ouroboros' own text for 1000+, strerror below.
std::string strerror(int errnum);

class error : public std::system_error {
public:
    // errnum is a positive errno value; what() is "<context>: <message>".
    error(int errnum, const std::string& context);
    explicit error(int errnum);

    int num() const noexcept { return code().value(); }
};

} // namespace ouroboros
