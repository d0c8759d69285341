/* irm_shim.c - the IRM calls, made from C (see irm_shim.h). */
#include "irm_shim.h"

#include "o7s_system_config.h"

#include <ouroboros/errno.h>
#include <ouroboros/irm.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* The IRMd's layer name for an IPCP that is in none yet. */
#define NOT_ENROLLED "Not enrolled."

/* o7s::ipcp_type values, in the order of 0.23's enum ipcp_type. */
enum { T_LOCAL, T_UNICAST, T_BROADCAST, T_ETH_LLC, T_ETH_DIX, T_UDP4, T_UDP6 };

static int to_type(int t, enum ipcp_type * out)
{
    switch (t) {
    case T_LOCAL:     *out = IPCP_LOCAL;     return 0;
    case T_UNICAST:   *out = IPCP_UNICAST;   return 0;
    case T_BROADCAST: *out = IPCP_BROADCAST; return 0;
    case T_ETH_LLC:   *out = IPCP_ETH_LLC;   return 0;
    case T_ETH_DIX:   *out = IPCP_ETH_DIX;   return 0;
#if O7S_HAVE_IPCP_UDP4
    case T_UDP4:      *out = IPCP_UDP4;      return 0;
    case T_UDP6:      *out = IPCP_UDP6;      return 0;
#else
    case T_UDP4:      *out = IPCP_UDP;       return 0;
#endif
    default:          return -EIPCPTYPE;
    }
}

static int from_type(enum ipcp_type t)
{
    switch (t) {
    case IPCP_LOCAL:     return T_LOCAL;
    case IPCP_UNICAST:   return T_UNICAST;
    case IPCP_BROADCAST: return T_BROADCAST;
    case IPCP_ETH_LLC:   return T_ETH_LLC;
    case IPCP_ETH_DIX:   return T_ETH_DIX;
#if O7S_HAVE_IPCP_UDP4
    case IPCP_UDP4:      return T_UDP4;
    case IPCP_UDP6:      return T_UDP6;
#else
    case IPCP_UDP:       return T_UDP4;
#endif
    default:             return -1;
    }
}

/* Copies at most `n` bytes of a string that may lack its terminator. */
static void copy_bounded(char * dst, size_t size, const char * src, size_t n)
{
    size_t len = strnlen(src, n < size - 1 ? n : size - 1);
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static int check_name(const char * s, size_t max)
{
    if (s == NULL)
        return -EINVAL;
    return strlen(s) > max ? -ENAMETOOLONG : 0;
}

int o7s_irm_create_ipcp(const char * name, int type)
{
    enum ipcp_type t;
    int            err;

    if ((err = check_name(name, IPCP_NAME_SIZE)) < 0 || (err = to_type(type, &t)) < 0)
        return err;

    /* Returns 0 (not the pid) or -1; the caller looks the pid up. */
    return irm_create_ipcp(name, t);
}

int o7s_irm_destroy_ipcp(pid_t pid)
{
    return irm_destroy_ipcp(pid);
}

ssize_t o7s_irm_list_ipcps(struct o7s_irm_ipcp ** out)
{
    struct ipcp_list_info * list = NULL;
    ssize_t                 n;
    ssize_t                 i;

    n = irm_list_ipcps(&list);
    if (n <= 0) {
        *out = NULL;
        free(list);
        return n;
    }

    *out = calloc((size_t) n, sizeof(**out));
    if (*out == NULL) {
        free(list);
        return -ENOMEM;
    }

    for (i = 0; i < n; ++i) {
        struct o7s_irm_ipcp * o = &(*out)[i];
        o->pid  = list[i].pid;
        o->type = from_type(list[i].type);
        copy_bounded(o->name, sizeof(o->name), list[i].name, sizeof(list[i].name));
        copy_bounded(o->layer, sizeof(o->layer), list[i].layer, sizeof(list[i].layer));
        if (strcmp(o->layer, NOT_ENROLLED) == 0)
            o->layer[0] = '\0';
    }

    free(list);
    return n;
}

/* Fields of the configuration to bootstrap with, by their model names. */
#define NUM(path) o7s_irm_conf_int(c, path)
#define STR(path) o7s_irm_conf_str(c, path)

/* The release's configuration of a unicast layer. */
static void unicast_conf(struct ipcp_config * conf, const struct o7s_irm_conf * c)
{
    conf->unicast.dt.addr_size = NUM("unicast.dt.addr_size");
    conf->unicast.dt.eid_size  = NUM("unicast.dt.eid_size");
    conf->unicast.dt.max_ttl   = NUM("unicast.dt.max_ttl");
#if O7S_UNICAST_HAS_DIR
    conf->unicast.dt.routing.pol         = ROUTING_LINK_STATE;
    conf->unicast.dt.routing.ls.pol      = (enum pol_link_state) NUM("unicast.dt.routing.ls.pol");
    conf->unicast.dt.routing.ls.t_recalc = NUM("unicast.dt.routing.ls.t_recalc");
    conf->unicast.dt.routing.ls.t_update = NUM("unicast.dt.routing.ls.t_update");
    conf->unicast.dt.routing.ls.t_timeo  = NUM("unicast.dt.routing.ls.t_timeo");
    conf->unicast.dir.pol                    = DIR_DHT;
    conf->unicast.dir.dht.params.alpha       = NUM("unicast.dir.dht.alpha");
    conf->unicast.dir.dht.params.k           = NUM("unicast.dir.dht.k");
    conf->unicast.dir.dht.params.t_expire    = NUM("unicast.dir.dht.t_expire");
    conf->unicast.dir.dht.params.t_refresh   = NUM("unicast.dir.dht.t_refresh");
    conf->unicast.dir.dht.params.t_replicate = NUM("unicast.dir.dht.t_replicate");
#else
    /* The link-state flavour is the routing type; link-state timers and
     * the directory are not configurable in this release. */
    conf->unicast.dt.routing_type =
        (enum pol_routing) (ROUTING_LINK_STATE + NUM("unicast.dt.routing.ls.pol"));
#endif
    conf->unicast.addr_auth_type = (enum pol_addr_auth) NUM("unicast.addr_auth");
    conf->unicast.cong_avoid     = (enum pol_cong_avoid) NUM("unicast.cong_avoid");
}

static int udp_conf(struct ipcp_config * conf, const struct o7s_irm_conf * c, int family)
{
    const char * ip_path   = family == AF_INET ? "udp4.ip_addr" : "udp6.ip_addr";
    const char * dns_path  = family == AF_INET ? "udp4.dns_addr" : "udp6.dns_addr";
    uint16_t     port      = NUM(family == AF_INET ? "udp4.port" : "udp6.port");
#if O7S_HAVE_IPCP_UDP4
    void * ip  = family == AF_INET ? (void *) &conf->udp4.ip_addr : (void *) &conf->udp6.ip_addr;
    void * dns = family == AF_INET ? (void *) &conf->udp4.dns_addr : (void *) &conf->udp6.dns_addr;
    if (family == AF_INET)
        conf->udp4.port = port;
    else
        conf->udp6.port = port;
#else
    void * ip  = &conf->udp.ip_addr;
    void * dns = &conf->udp.dns_addr;
    conf->udp.port = port;
#endif
    if (inet_pton(family, STR(ip_path), ip) != 1 || inet_pton(family, STR(dns_path), dns) != 1)
        return -EINVAL;
    return 0;
}

int o7s_irm_bootstrap_ipcp(pid_t pid, const struct o7s_irm_conf * c)
{
    struct ipcp_config conf;
    enum ipcp_type     t;
    const char *       layer = STR("layer_name");
    const char *       dev   = STR("eth.dev");
    int                err;

    if ((err = check_name(layer, LAYER_NAME_SIZE)) < 0 ||
        (err = to_type((int) NUM("ipcp_type"), &t)) < 0)
        return err;

    switch (t) {
    case IPCP_LOCAL:     conf = local_default_conf;   break;
    case IPCP_UNICAST:   conf = uni_default_conf;     break;
    case IPCP_BROADCAST: conf = bc_default_conf;      break;
    case IPCP_ETH_LLC:   conf = eth_llc_default_conf; break;
    case IPCP_ETH_DIX:   conf = eth_dix_default_conf; break;
#if O7S_HAVE_IPCP_UDP4
    case IPCP_UDP4:      conf = udp4_default_conf;    break;
    case IPCP_UDP6:      conf = udp6_default_conf;    break;
#else
    case IPCP_UDP:       conf = udp_default_conf;     break;
#endif
    default:             return -EIPCPTYPE;
    }

    strcpy(conf.layer_info.name, layer);
    conf.layer_info.dir_hash_algo = (enum pol_dir_hash) NUM("dir_hash_algo");

    switch (t) {
    case IPCP_UNICAST:
        unicast_conf(&conf, c);
        break;
    case IPCP_ETH_DIX:
        conf.eth.ethertype = NUM("eth.ethertype");
        /* fall through */
    case IPCP_ETH_LLC:
        if ((err = check_name(dev, DEV_NAME_SIZE)) < 0)
            return err;
        strcpy(conf.eth.dev, dev);
        break;
#if O7S_HAVE_IPCP_UDP4
    case IPCP_UDP4:
        err = udp_conf(&conf, c, AF_INET);
        break;
    case IPCP_UDP6:
        err = udp_conf(&conf, c, AF_INET6);
        break;
#else
    case IPCP_UDP:
        err = udp_conf(&conf, c, AF_INET);
        break;
#endif
    default:
        break;
    }
    if (err < 0)
        return err;
    if (o7s_irm_conf_failed(c))
        return -EINVAL;

    return irm_bootstrap_ipcp(pid, &conf);
}

#undef NUM
#undef STR

int o7s_irm_enroll_ipcp(pid_t pid, const char * dst)
{
    return irm_enroll_ipcp(pid, dst);
}

int o7s_irm_connect_ipcp(pid_t pid, const char * dst, const char * component,
             const struct o7s_irm_qos * qos)
{
    qosspec_t qs = qos_raw;

    qs.delay        = qos->delay;
    qs.bandwidth    = qos->bandwidth;
    qs.availability = qos->availability;
    qs.loss         = qos->loss;
    qs.ber          = qos->ber;
    qs.in_order     = qos->in_order;
    qs.max_gap      = qos->max_gap;
    qs.timeout      = qos->timeout;
#if O7S_QOS_HAS_CYPHER_S
    qs.cypher_s     = qos->cypher_s;
#endif
    /* irm.h names the parameters (pid, component, dst); irm.c and the
     * irm tool use them as (pid, dst, component). */
    return irm_connect_ipcp(pid, dst, component, qs);
}

int o7s_irm_disconnect_ipcp(pid_t pid, const char * dst, const char * component)
{
    return irm_disconnect_ipcp(pid, dst, component);
}

/*
 * libouroboros packs every IRM request into a stack buffer of
 * SOCK_BUF_SIZE (10240 bytes in 0.21-0.23) without checking its size, so a
 * larger request overruns the caller's stack. A bound on what a request
 * carries keeps bind_program's argv below it: each string costs its bytes
 * plus at most 4 of protobuf framing, and the rest of the message far less
 * than the slack.
 */
#define O7S_IRM_REQUEST_MAX 10240
#define O7S_IRM_REQUEST_SLACK 256

static int check_request_size(const char * path, const char * name, int argc, char ** argv)
{
    size_t total = O7S_IRM_REQUEST_SLACK + strlen(path) + 4 + strlen(name) + 4;
    int    i;

    for (i = 0; i < argc; i++) {
        if (argv[i] == NULL)
            return -EINVAL;
        total += strlen(argv[i]) + 4;
        if (total > O7S_IRM_REQUEST_MAX)
            return -E2BIG;
    }
    return total > O7S_IRM_REQUEST_MAX ? -E2BIG : 0;
}

int o7s_irm_bind_program(const char * path, const char * name, uint16_t opts,
             int argc, char ** argv)
{
    int err;

    if (path == NULL || strchr(path, '/') == NULL)
        return -EINVAL;
    if ((err = check_name(name, NAME_SIZE)) < 0)
        return err;
    if (argc < 0 || (argc > 0 && argv == NULL))
        return -EINVAL;
    /* The IRMd resolves the path too: PATH_MAX bounds it. */
    if (strlen(path) >= PATH_MAX)
        return -ENAMETOOLONG;
    if ((err = check_request_size(path, name, argc, argv)) < 0)
        return err;

    return irm_bind_program(path, name, opts, argc, argv);
}

int o7s_irm_unbind_program(const char * prog, const char * name)
{
    return irm_unbind_program(prog, name);
}

int o7s_irm_bind_process(pid_t pid, const char * name)
{
    int err;

    if ((err = check_name(name, NAME_SIZE)) < 0)
        return err;

    return irm_bind_process(pid, name);
}

int o7s_irm_unbind_process(pid_t pid, const char * name)
{
    return irm_unbind_process(pid, name);
}

#if O7S_NAME_INFO_HAS_SEC_PATHS
static int copy_paths(struct name_sec_paths * dst, const struct o7s_irm_sec_paths * src)
{
    int err;

    if ((err = check_name(src->enc, NAME_PATH_SIZE)) < 0 ||
        (err = check_name(src->key, NAME_PATH_SIZE)) < 0 ||
        (err = check_name(src->crt, NAME_PATH_SIZE)) < 0)
        return err;
    strcpy(dst->enc, src->enc);
    strcpy(dst->key, src->key);
    strcpy(dst->crt, src->crt);
    return 0;
}
#else
static int is_default(const struct o7s_irm_sec_paths * p)
{
    return *p->enc == '\0' && *p->key == '\0' && *p->crt == '\0';
}
#endif

int o7s_irm_create_name(const char * name, int policy,
                        const struct o7s_irm_sec_paths * server,
                        const struct o7s_irm_sec_paths * client)
{
    int err;

    if ((err = check_name(name, NAME_SIZE)) < 0)
        return err;
    if (policy != LB_RR && policy != LB_SPILL)
        return -EINVAL;
#if O7S_NAME_INFO_HAS_SEC_PATHS
    {
        /* Empty security paths: the IRMd's defaults for the name. */
        struct name_info info;

        memset(&info, 0, sizeof(info));
        strcpy(info.name, name);
        info.pol_lb = (enum pol_balance) policy;
        if ((err = copy_paths(&info.s, server)) < 0 || (err = copy_paths(&info.c, client)) < 0)
            return err;
        return irm_create_name(&info);
    }
#else
    if (!is_default(server) || !is_default(client))
        return -ENOTSUP;
    return irm_create_name(name, (enum pol_balance) policy);
#endif
}

int o7s_irm_destroy_name(const char * name)
{
    return irm_destroy_name(name);
}

ssize_t o7s_irm_list_names(struct o7s_irm_name ** out)
{
    struct name_info * list = NULL;
    ssize_t            n;
    ssize_t            i;

    n = irm_list_names(&list);
    if (n <= 0) {
        *out = NULL;
        free(list);
        return n;
    }

    *out = calloc((size_t) n, sizeof(**out));
    if (*out == NULL) {
        free(list);
        return -ENOMEM;
    }

    /* Only name and pol_lb are filled in; 0.23 leaves the security
     * paths of the array uninitialised. */
    for (i = 0; i < n; ++i) {
        copy_bounded((*out)[i].name, sizeof((*out)[i].name), list[i].name,
                     sizeof(list[i].name));
        (*out)[i].policy = (int) list[i].pol_lb;
    }

    free(list);
    return n;
}

int o7s_irm_reg_name(const char * name, pid_t ipcp)
{
    return irm_reg_name(name, ipcp);
}

int o7s_irm_unreg_name(const char * name, pid_t ipcp)
{
    return irm_unreg_name(name, ipcp);
}

void o7s_irm_free(void * p)
{
    free(p);
}
