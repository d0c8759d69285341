// server_irm.cpp - the IRM requests: one handler per message of
// runtime/messages.hpp, each 0 or -errno with a sentence in `why` (the
// generic server::on() in server.hpp sends the reply).
#include "server.hpp"

#include "log.hpp"
#include "runtime/names.hpp"

#include <o7s/error.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace ouroboros::daemon {
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

int not_modelled(std::string& why)
{
    why = "the embedded runtime models local and broadcast layers only; enrolment and "
          "connections between IPCPs need the real Ouroboros (the system backend)";
    return -ENOTSUP;
}

std::string joined(const std::vector<std::string>& items)
{
    std::string out;
    for (const auto& item : items)
        out += (out.empty() ? "" : ", ") + item;
    return out;
}

} // namespace

// ------------------------------------------------------------------ IPCPs

int server::handle(const proto::ipcp_create& req, proto::ipcp_created& out, std::string& why)
{
    return registry_.create_ipcp(req.name, req.type, out.pid, why);
}

int server::handle(const proto::ipcp_destroy& req, proto::ok&, std::string& why)
{
    return registry_.destroy_ipcp(req.pid, why);
}

void server::committed(const proto::ipcp_destroy& req)
{
    relay_.drop_layer(req.pid); // a destroyed broadcast layer takes its flows down
}

int server::handle(const proto::ipcp_list&, proto::ipcp_listing& out, std::string&)
{
    for (const auto& [id, ipcp] : registry_.ipcps())
        out.ipcps.push_back(ipcp_info{id, ipcp.type, ipcp.name, ipcp.layer});
    return 0;
}

int server::handle(const proto::ipcp_bootstrap& req, proto::ok&, std::string& why)
{
    if (int rc = registry_.bootstrap_ipcp(req.pid, req.conf, why); rc < 0)
        return rc;
    // The IPCP keeps the rest of its configuration; say what it does not use.
    auto ignored = proto::differing_fields(req.conf, ipcp_config{req.conf.type, req.conf.layer});
    if (!ignored.empty())
        O7S_INFO("IPCP %d in layer '%s': the embedded runtime ignores %s",
                 static_cast<int>(req.pid), req.conf.layer.c_str(), joined(ignored).c_str());
    return 0;
}

int server::handle(const proto::ipcp_enroll&, proto::ok&, std::string& why)
{
    return not_modelled(why);
}

int server::handle(const proto::ipcp_connect&, proto::ok&, std::string& why)
{
    return not_modelled(why);
}

int server::handle(const proto::ipcp_disconnect&, proto::ok&, std::string& why)
{
    return not_modelled(why);
}

// ------------------------------------------------------------------ names

int server::handle(const proto::name_create& req, proto::ok&, std::string& why)
{
    // Like the IRMd: a name that exists is no error (its policy stays).
    int rc = registry_.create_name(req.info, why);
    return rc == -EEXIST ? 0 : rc;
}

int server::handle(const proto::name_destroy& req, proto::ok&, std::string& why)
{
    return registry_.destroy_name(req.name, why);
}

int server::handle(const proto::name_list&, proto::name_listing& out, std::string&)
{
    for (const auto& [_, rec] : registry_.names())
        out.names.push_back(rec.info());
    return 0;
}

int server::handle(const proto::name_reg& req, proto::ok&, std::string& why)
{
    return registry_.reg_name(req.name, req.ipcp, why);
}

int server::handle(const proto::name_unreg& req, proto::ok&, std::string& why)
{
    return registry_.unreg_name(req.name, req.ipcp, why);
}

// --------------------------------------------------------------- bindings

// Paths must be absolute (the library resolves them in the caller's
// directory and $PATH). A script bound with an interpreter need not be
// executable.
int server::handle(const proto::bind_program& req, proto::ok&, std::string& why)
{
    const program_binding& prog = req.prog;
    const bool script = !prog.interpreter.empty();
    if (proto::encoded_size(req) > proto::bind_request_limit) {
        why = "the program's arguments are too long (the limit is about " +
              std::to_string(proto::bind_request_limit / 1024) + " KiB)";
        return -E2BIG;
    }
    if (int rc = runtime::check_name(req.name, why); rc < 0)
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
    return registry_.bind_program(prog, req.name, why);
}

int server::handle(const proto::unbind_program& req, proto::ok&, std::string& why)
{
    return registry_.unbind_program(req.path, req.name, why);
}

int server::handle(const proto::unbind_process& req, proto::ok&, std::string& why)
{
    return registry_.unbind_process(req.pid, req.name, why);
}

// Every row in a stable order, then as many from `first` on as fit a record.
int server::handle(const proto::binding_list& req, proto::binding_part& out, std::string&)
{
    std::vector<proto::binding_row> rows;
    for (const auto& [name, n] : registry_.names()) {
        rows.emplace_back(proto::name_row{n.info()});
        for (pid_t ipcp : n.registered_in)
            rows.emplace_back(proto::reg_row{name, ipcp});
        for (const auto& p : n.processes)
            rows.emplace_back(proto::process_row{name, p});
        for (const auto& p : n.programs)
            rows.emplace_back(proto::program_row{name, p});
    }
    out.generation = registry_.generation();
    out.total = static_cast<std::uint32_t>(rows.size());
    std::size_t size = proto::encoded_size(out);
    for (std::size_t i = req.first; i < rows.size(); ++i) {
        std::size_t row = proto::encoded_size(rows[i]);
        if (!out.rows.empty() && size + row > proto::max_body)
            break;
        size += row;
        out.rows.push_back(std::move(rows[i]));
    }
    return 0;
}

} // namespace ouroboros::daemon
