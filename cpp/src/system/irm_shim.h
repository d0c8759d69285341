/* irm_shim.h - libouroboros-irm behind a plain C API of this project's own.
 *
 * Ouroboros' irm.h cannot be included from C++ (the static initialisers in
 * ipcp.h are not valid C++), so a C translation unit makes the calls and the
 * backend sees only these types. Enum values (IPCP types, load-balancing
 * policies) are those of o7s/irm.hpp; the shim maps them to the installed
 * release's. Results are >= 0 or a negative error number of the library.
 */
#ifndef O7S_IRM_SHIM_H
#define O7S_IRM_SHIM_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define O7S_IRM_NAME_MAX 255

struct o7s_irm_ipcp {
    pid_t pid;
    int   type;
    char  name[O7S_IRM_NAME_MAX + 1];
    char  layer[O7S_IRM_NAME_MAX + 1]; /* "" when not in a layer yet */
};

struct o7s_irm_name {
    char name[O7S_IRM_NAME_MAX + 1];
    int  policy;
};

/* What bootstrapping needs: an o7s::ipcp_config, whose fields the shim
 * reads by the names of its field list ("unicast.dt.addr_size", see
 * o7s/irm.hpp), so that a field of the model needs no struct of its own
 * here (irm_calls.cpp answers). A path that is no field reads as 0 or ""
 * and makes o7s_irm_conf_failed() true. */
struct o7s_irm_conf;
long long    o7s_irm_conf_int(const struct o7s_irm_conf * conf, const char * path);
const char * o7s_irm_conf_str(const struct o7s_irm_conf * conf, const char * path);
int          o7s_irm_conf_failed(const struct o7s_irm_conf * conf);

/* A name's security paths (server, then client): "" for the default. */
struct o7s_irm_sec_paths {
    const char * enc;
    const char * key;
    const char * crt;
};

struct o7s_irm_qos {
    uint32_t delay;
    uint64_t bandwidth;
    uint8_t  availability;
    uint32_t loss;
    uint32_t ber;
    uint8_t  in_order;
    uint32_t max_gap;
    uint16_t cypher_s;
    uint32_t timeout;
};

int     o7s_irm_create_ipcp(const char * name, int type);
int     o7s_irm_destroy_ipcp(pid_t pid);
/* The number of IPCPs, with *out malloc()ed (free with o7s_irm_free). */
ssize_t o7s_irm_list_ipcps(struct o7s_irm_ipcp ** out);
int     o7s_irm_bootstrap_ipcp(pid_t pid, const struct o7s_irm_conf * conf);
int     o7s_irm_enroll_ipcp(pid_t pid, const char * dst);
int     o7s_irm_connect_ipcp(pid_t pid, const char * dst, const char * component,
                 const struct o7s_irm_qos * qos);
int     o7s_irm_disconnect_ipcp(pid_t pid, const char * dst, const char * component);
/* `path` must contain a '/': the library's own PATH search writes into the
 * environment's PATH string. */
int     o7s_irm_bind_program(const char * path, const char * name, uint16_t opts,
                 int argc, char ** argv);
int     o7s_irm_unbind_program(const char * prog, const char * name);
int     o7s_irm_bind_process(pid_t pid, const char * name);
int     o7s_irm_unbind_process(pid_t pid, const char * name);
/* -ENOTSUP for security paths on a release without them (0.21). */
int     o7s_irm_create_name(const char * name, int policy,
                            const struct o7s_irm_sec_paths * server,
                            const struct o7s_irm_sec_paths * client);
int     o7s_irm_destroy_name(const char * name);
ssize_t o7s_irm_list_names(struct o7s_irm_name ** out);
int     o7s_irm_reg_name(const char * name, pid_t ipcp);
int     o7s_irm_unreg_name(const char * name, pid_t ipcp);
void    o7s_irm_free(void * p);

#ifdef __cplusplus
}
#endif

#endif /* O7S_IRM_SHIM_H */
