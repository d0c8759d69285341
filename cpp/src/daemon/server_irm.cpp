// server_irm.cpp - IRM requests: IPCPs, names and bindings.
#include "server.hpp"

#include "log.hpp"

#include <o7s/error.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ouroboros::daemon {

void server::irm_request(client& c, proto::msg type, proto::reader& r, std::size_t body_size)
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
        rc = destroy_ipcp(id, why);
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
        // Like the IRMd: a name that exists is no error (its policy stays).
        if ((rc = registry_.create_name(name, policy, why)) == -EEXIST)
            rc = 0;
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
    case msg::bind_process:
        return bind_process(c, r); // server_binds.cpp
    case msg::unbind_process: {
        pid_t pid = r.i32();
        std::string name = r.str();
        r.end();
        rc = registry_.unbind_process(pid, name, why);
        break;
    }
    case msg::bind_program:
    case msg::bind_script:
        rc = bind_program(type == msg::bind_script, r, body_size, why);
        break;
    case msg::unbind_program: {
        std::string path = r.str();
        std::string name = r.str();
        r.end();
        rc = registry_.unbind_program(path, name, why);
        break;
    }
    case msg::binding_list:
        return list_bindings(c, r);
    default:
        rc = -ENOTSUP;
        why = "unknown request type " + std::to_string(static_cast<int>(type));
        break;
    }

    if (rc < 0) {
        reply_error(c, -rc, why);
    } else {
        reply_ok(c);
        // Names and bindings changed: waiting allocations may be served
        // now, or have lost their last server.
        match_pending();
    }
    // Also after a failure: a process may be watched for a binding that
    // did not happen.
    unwatch_idle_processes();
}

int server::destroy_ipcp(pid_t id, std::string& why)
{
    if (int rc = registry_.destroy_ipcp(id, why); rc < 0)
        return rc;
    relay_.drop_layer(id); // a destroyed broadcast layer takes its flows down
    return 0;
}

namespace {

// 0, or -errno with `why`, for a program (`executable`) or script file.
int check_program_file(const std::string& path, bool executable, std::string& why)
{
    if (path.empty() || path[0] != '/') {
        why = "program path '" + path + "' is not absolute";
        return -EINVAL;
    }
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) {
        int err = errno;
        why = path; // the error message adds strerror(err)
        return -err;
    }
    if (!S_ISREG(st.st_mode)) {
        why = path + " is not a regular file";
        return -EACCES;
    }
    if (executable && ::access(path.c_str(), X_OK) != 0) {
        why = path + " is not executable (make it so; a script also needs a #! line)";
        return -EACCES;
    }
    return 0;
}

} // namespace

// bind_program and bind_script: paths must be absolute (the library
// resolves them in the caller's directory and $PATH). A script bound with
// an interpreter need not be executable.
int server::bind_program(bool script, proto::reader& r, std::size_t body_size, std::string& why)
{
    program_binding prog;
    prog.path = r.str();
    std::string name = r.str();
    prog.opts = r.u16();
    if (script)
        prog.interpreter = r.str();
    for (std::uint32_t argc = r.u32(); argc > 0; --argc)
        prog.argv.push_back(r.str());
    r.end();

    if (body_size > proto::bind_request_limit) {
        why = "the program's arguments are too long (the limit is about " +
              std::to_string(proto::bind_request_limit / 1024) + " KiB)";
        return -E2BIG;
    }
    if (int rc = registry::check_name(name, why); rc < 0)
        return rc;
    if (prog.opts & ~bind_auto) {
        why = "unknown bind options " + std::to_string(prog.opts);
        return -EINVAL;
    }
    if (int rc = check_program_file(prog.path, !script, why); rc < 0)
        return rc;
    if (script) {
        if (int rc = check_program_file(prog.interpreter, true, why); rc < 0) {
            why = "interpreter " + why;
            return rc;
        }
    }
    return registry_.bind_program(prog, name, why);
}

void server::list_bindings(client& c, proto::reader& r)
{
    using proto::row;
    std::uint32_t first = r.u32();
    r.end();

    // Every row, in a stable order; then as many as fit from `first` on.
    std::vector<proto::writer> rows;
    for (const auto& [name, n] : registry_.names()) {
        rows.emplace_back(proto::msg::ok);
        rows.back().u8(static_cast<std::uint8_t>(row::name)).str(name).i32(static_cast<int>(n.policy));
        for (pid_t ipcp : n.registered_in) {
            rows.emplace_back(proto::msg::ok);
            rows.back().u8(static_cast<std::uint8_t>(row::reg)).str(name).i32(ipcp);
        }
        for (const auto& p : n.processes) {
            rows.emplace_back(proto::msg::ok);
            rows.back().u8(static_cast<std::uint8_t>(row::process)).str(name).i32(p.pid).str(p.program);
        }
        for (const auto& p : n.programs) {
            rows.emplace_back(proto::msg::ok);
            auto& w = rows.back();
            w.u8(static_cast<std::uint8_t>(row::program)).str(name).str(p.path).u16(p.opts);
            w.str(p.interpreter).u32(static_cast<std::uint32_t>(p.argv.size()));
            for (const auto& a : p.argv)
                w.str(a);
        }
    }

    proto::writer w(proto::msg::ok);
    w.u64(registry_.generation()).u32(static_cast<std::uint32_t>(rows.size()));
    std::vector<std::uint8_t> body;
    std::uint32_t n = 0;
    for (std::size_t i = first; i < rows.size(); ++i) {
        const auto& rec = rows[i].record();
        std::size_t size = rec.size() - proto::header_size;
        // 12 bytes of header fields above, 4 for the count below.
        if (n > 0 && 12 + 4 + body.size() + size > proto::max_body)
            break;
        body.insert(body.end(), rec.begin() + proto::header_size, rec.end());
        ++n;
    }
    w.u32(n).raw(body);
    send(c, w);
}

} // namespace ouroboros::daemon
