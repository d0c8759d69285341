// errno_map.hpp - Ouroboros' error numbers as the API reports them.
//
// Ouroboros' own codes moved between releases (ENAME and ECRYPT swapped
// places in 0.22); the macros of the headers this plugin was built with
// give the library's values, errc gives the ones callers see everywhere.
#pragma once

#include "ouroboros_c.hpp"

#include <o7s/error.hpp>

namespace ouroboros::system {

// Maps a negative result of the library to a negative errc value; other
// results pass unchanged.
constexpr int from_library(int rc) noexcept
{
    switch (-rc) {
    case ENOTALLOC:
        return -errc::not_allocated;
    case EIPCPTYPE:
        return -errc::ipcp_type;
    case EIRMD:
        return -errc::irmd;
    case EIPCP:
        return -errc::ipcp;
    case EIPCPSTATE:
        return -errc::ipcp_state;
    case EFLOWDOWN:
        return -errc::flow_down;
    case EFLOWPEER:
        return -errc::flow_peer;
    case ENAME:
        return -errc::name;
    case ECRYPT:
        return -errc::crypt;
#if defined(EAUTH) && EAUTH >= 1000
    case EAUTH:
        return -errc::auth;
#endif
    default:
        return rc;
    }
}

// For a library result of -1, which means both "the IRMd could not be
// reached" and "the IRMd said no": asks the IRMd which, sets the detail
// and returns -errc::irmd or -EPERM (errno_map.cpp).
int irmd_failure();

// 0 when the IRMd answers a request within a few seconds; else sets the
// detail and returns -errc::irmd. The library's requests connect to the
// IRMd without a timeout, which waits forever when the IRMd died and its
// IPCPs (its children, which inherit its listening socket) still run.
int irmd_gone();

} // namespace ouroboros::system
