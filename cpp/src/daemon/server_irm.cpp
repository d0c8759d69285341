// server_irm.cpp - IRM requests: IPCPs, names and bindings.
#include "server.hpp"

#include "log.hpp"

#include <o7s/error.hpp>

#include <cerrno>

namespace ouroboros::daemon {

void server::irm_request(client& c, proto::msg type, proto::reader& r)
{
    using proto::msg;
    std::string why;
    int rc = 0;
    switch (type) {
    case msg::ipcp_create: {
        std::string name = r.str();
        auto t = static_cast<ipcp_type>(r.i32());
        r.end();
        pid_t id = 0;
        if ((rc = registry_.create_ipcp(name, t, id, why)) == 0) {
            proto::writer w(msg::ok);
            w.i32(id);
            send(c, w);
            return;
        }
        break;
    }
    case msg::ipcp_destroy: {
        pid_t id = r.i32();
        r.end();
        rc = registry_.destroy_ipcp(id, why);
        break;
    }
    case msg::ipcp_list: {
        r.end();
        proto::writer w(msg::ok);
        w.u32(static_cast<std::uint32_t>(registry_.ipcps().size()));
        for (const auto& [id, ipcp] : registry_.ipcps())
            w.i32(id).i32(static_cast<int>(ipcp.type)).str(ipcp.name).str(ipcp.layer);
        send(c, w);
        return;
    }
    case msg::ipcp_bootstrap: {
        pid_t id = r.i32();
        auto t = static_cast<ipcp_type>(r.i32());
        std::string layer = r.str();
        r.end();
        rc = registry_.bootstrap_ipcp(id, t, layer, why);
        break;
    }
    case msg::ipcp_enroll:
    case msg::ipcp_connect:
    case msg::ipcp_disconnect:
        rc = -ENOTSUP;
        why = "the embedded runtime models local and broadcast layers only; enrolment and "
              "connections between IPCPs need the real Ouroboros (the system backend)";
        break;
    case msg::name_create: {
        std::string name = r.str();
        auto policy = static_cast<load_balance>(r.i32());
        r.end();
        if (policy != load_balance::round_robin && policy != load_balance::spill) {
            rc = -EINVAL;
            why = "unknown load-balancing policy " + std::to_string(static_cast<int>(policy));
            break;
        }
        rc = registry_.create_name(name, policy, why);
        break;
    }
    case msg::name_destroy: {
        std::string name = r.str();
        r.end();
        rc = registry_.destroy_name(name, why);
        break;
    }
    case msg::name_list: {
        r.end();
        proto::writer w(msg::ok);
        w.u32(static_cast<std::uint32_t>(registry_.names().size()));
        for (const auto& [name, rec] : registry_.names())
            w.str(name).i32(static_cast<int>(rec.policy));
        send(c, w);
        return;
    }
    case msg::name_reg:
    case msg::name_unreg: {
        std::string name = r.str();
        pid_t ipcp = r.i32();
        r.end();
        rc = type == msg::name_reg ? registry_.reg_name(name, ipcp, why)
                                   : registry_.unreg_name(name, ipcp, why);
        break;
    }
    case msg::bind_process: {
        pid_t pid = r.i32();
        std::string name = r.str();
        r.end();
        if ((rc = watch_process(pid, why)) == 0)
            rc = registry_.bind_process(pid, name, why);
        break;
    }
    case msg::unbind_process: {
        pid_t pid = r.i32();
        std::string name = r.str();
        r.end();
        rc = registry_.unbind_process(pid, name, why);
        break;
    }
    case msg::bind_program:
    case msg::unbind_program:
        rc = -ENOTSUP;
        why = "binding programs is not implemented by the embedded runtime yet";
        break;
    default:
        rc = -ENOTSUP;
        why = "unknown request type " + std::to_string(static_cast<int>(type));
        break;
    }

    if (rc < 0) {
        reply_error(c, -rc, why);
        return;
    }
    reply_ok(c);
    // Names and bindings changed: waiting allocations may be served now,
    // or have lost their last server.
    match_pending();
    unwatch_idle_processes();
}

} // namespace ouroboros::daemon
