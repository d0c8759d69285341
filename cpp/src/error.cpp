// error.cpp - the errno category with Ouroboros' own codes.
#include <o7s/error.hpp>

#include <cstring>

namespace ouroboros {
namespace {

const char* ouroboros_message(int errnum) noexcept
{
    switch (errnum) {
    case errc::not_allocated: return "Flow is not allocated";
    case errc::ipcp_type: return "Unknown IPCP type";
    case errc::irmd: return "Failed to communicate with the IRMd";
    case errc::ipcp: return "Failed to communicate with the IPCP";
    case errc::ipcp_state: return "Target in wrong state";
    case errc::flow_down: return "Flow is down";
    case errc::flow_peer: return "Flow is down (peer timed out)";
    case errc::name: return "Naming error";
    case errc::crypt: return "Encryption error";
    case errc::auth: return "Authentication error";
    default: return nullptr;
    }
}

class ouroboros_category : public std::error_category {
public:
    const char* name() const noexcept override { return "ouroboros"; }
    std::string message(int ev) const override { return ouroboros::strerror(ev); }
    // Plain errno values are the generic category's conditions, so that
    // e.code() == std::errc::timed_out holds; Ouroboros' own stay ours.
    std::error_condition default_error_condition(int ev) const noexcept override
    {
        if (ouroboros_message(ev) != nullptr)
            return std::error_condition(ev, *this);
        return std::generic_category().default_error_condition(ev);
    }
};

} // namespace

const std::error_category& category() noexcept
{
    static const ouroboros_category instance;
    return instance;
}

std::string strerror(int errnum)
{
    if (const char* own = ouroboros_message(errnum))
        return own;
    char buf[256];
    // GNU strerror_r returns the message pointer, which may not be buf.
    return ::strerror_r(errnum, buf, sizeof buf);
}

// std::system_error makes what() "<context>: <message>".
error::error(int errnum, const std::string& context)
    : std::system_error(errnum, category(), context)
{
}

error::error(int errnum) : std::system_error(errnum, category()) {}

} // namespace ouroboros
