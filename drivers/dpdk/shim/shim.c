/* See shim.h. Compiled by build.rs against the system DPDK (pkg-config
 * libdpdk); nothing here keeps state. */
#include "shim.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ring.h>
#include <stdio.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

int tandem_eal_init(int argc, char **argv) {
    int r = rte_eal_init(argc, argv);
    return r < 0 ? -rte_errno : r;
}

int tandem_eal_cleanup(void) { return rte_eal_cleanup(); }

int tandem_errno(void) { return rte_errno; }

const char *tandem_strerror(int err) { return rte_strerror(err < 0 ? -err : err); }

struct rte_mempool *tandem_pool_create(const char *name, unsigned n, unsigned cache,
                                       uint16_t data_room, int socket) {
    return rte_pktmbuf_pool_create(name, n, cache, 0,
                                   (uint16_t)(data_room + RTE_PKTMBUF_HEADROOM),
                                   socket < 0 ? (int)SOCKET_ID_ANY : socket);
}

void tandem_pool_free(struct rte_mempool *mp) { rte_mempool_free(mp); }

unsigned tandem_pool_avail(const struct rte_mempool *mp) { return rte_mempool_avail_count(mp); }

uint16_t tandem_port_count(void) { return rte_eth_dev_count_avail(); }

int tandem_ring_pair(const char *name, uint16_t *a, uint16_t *b) {
    char n[RTE_RING_NAMESIZE];
    snprintf(n, sizeof n, "%s_ab", name);
    struct rte_ring *ab = rte_ring_create(n, 16384, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    snprintf(n, sizeof n, "%s_ba", name);
    struct rte_ring *ba = rte_ring_create(n, 16384, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (ab == NULL || ba == NULL)
        return -rte_errno;
    snprintf(n, sizeof n, "%s_a", name);
    int pa = rte_eth_from_rings(n, &ba, 1, &ab, 1, SOCKET_ID_ANY);
    snprintf(n, sizeof n, "%s_b", name);
    int pb = rte_eth_from_rings(n, &ab, 1, &ba, 1, SOCKET_ID_ANY);
    if (pa < 0 || pb < 0)
        return -rte_errno;
    *a = (uint16_t)pa;
    *b = (uint16_t)pb;
    return 0;
}

int tandem_port_by_name(const char *name, uint16_t *port) {
    return rte_eth_dev_get_port_by_name(name, port);
}

int tandem_port_start(uint16_t port, uint16_t rxq, uint16_t txq, uint16_t desc,
                      struct rte_mempool *mp, uint32_t *offloads) {
    struct rte_eth_dev_info info;
    int r = rte_eth_dev_info_get(port, &info);
    if (r < 0)
        return r;
    struct rte_eth_conf conf;
    memset(&conf, 0, sizeof conf);
    if (rxq > 1 && (info.flow_type_rss_offloads & RTE_ETH_RSS_UDP)) {
        /* Spread media flows over the workers' queues by UDP port. */
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf = RTE_ETH_RSS_UDP & info.flow_type_rss_offloads;
    }
    if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
        conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
    *offloads = 0;
    const uint64_t rx_cksum = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
    if ((info.rx_offload_capa & rx_cksum) == rx_cksum) {
        conf.rxmode.offloads |= rx_cksum;
        *offloads |= TANDEM_RX_CKSUM;
    }
    const uint64_t tx_cksum = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
    if ((info.tx_offload_capa & tx_cksum) == tx_cksum) {
        conf.txmode.offloads |= tx_cksum;
        *offloads |= TANDEM_TX_CKSUM;
    }
    r = rte_eth_dev_configure(port, rxq, txq, &conf);
    if (r < 0)
        return r;
    uint16_t nb_rx = desc, nb_tx = desc;
    r = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rx, &nb_tx);
    if (r < 0)
        return r;
    int socket = rte_eth_dev_socket_id(port);
    if (socket < 0)
        socket = (int)SOCKET_ID_ANY;
    for (uint16_t q = 0; q < rxq; q++) {
        r = rte_eth_rx_queue_setup(port, q, nb_rx, (unsigned)socket, NULL, mp);
        if (r < 0)
            return r;
    }
    for (uint16_t q = 0; q < txq; q++) {
        r = rte_eth_tx_queue_setup(port, q, nb_tx, (unsigned)socket, NULL);
        if (r < 0)
            return r;
    }
    r = rte_eth_dev_start(port);
    if (r < 0)
        return r;
    (void)rte_eth_promiscuous_enable(port);
    return 0;
}

int tandem_port_stop(uint16_t port) { return rte_eth_dev_stop(port); }

int tandem_port_mac(uint16_t port, uint8_t mac[6]) {
    struct rte_ether_addr a;
    int r = rte_eth_macaddr_get(port, &a);
    if (r == 0)
        memcpy(mac, a.addr_bytes, 6);
    return r;
}

int tandem_port_set_mac(uint16_t port, const uint8_t mac[6]) {
    struct rte_ether_addr a;
    memcpy(a.addr_bytes, mac, 6);
    return rte_eth_dev_default_mac_addr_set(port, &a);
}

int tandem_port_socket(uint16_t port) { return rte_eth_dev_socket_id(port); }

int tandem_port_stats(uint16_t port, uint64_t out[6]) {
    struct rte_eth_stats s;
    int r = rte_eth_stats_get(port, &s);
    if (r == 0) {
        out[0] = s.ipackets;
        out[1] = s.ibytes;
        out[2] = s.opackets;
        out[3] = s.obytes;
        out[4] = s.imissed;
        out[5] = s.ierrors + s.oerrors;
    }
    return r;
}

uint16_t tandem_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n) {
    return rte_eth_rx_burst(port, queue, pkts, n);
}

uint16_t tandem_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n) {
    return rte_eth_tx_burst(port, queue, pkts, n);
}

struct rte_mbuf *tandem_mbuf_alloc(struct rte_mempool *mp) { return rte_pktmbuf_alloc(mp); }

void tandem_mbuf_free(struct rte_mbuf *m) { rte_pktmbuf_free(m); }

uint8_t *tandem_mbuf_data(struct rte_mbuf *m, uint16_t *len) {
    *len = m->data_len;
    return rte_pktmbuf_mtod(m, uint8_t *);
}

#define TANDEM_CHECK_FIELD(field, off, size)                                              \
    _Static_assert(offsetof(struct rte_mbuf, field) == (off) &&                            \
                       sizeof(((struct rte_mbuf *)0)->field) == (size),                    \
                   "struct rte_mbuf." #field " moved: update TANDEM_MBUF_* in shim.h and "  \
                   "the Rust side (src/dpdk.rs, Mbuf)")
TANDEM_CHECK_FIELD(buf_addr, TANDEM_MBUF_BUF_ADDR, sizeof(void *));
TANDEM_CHECK_FIELD(data_off, TANDEM_MBUF_DATA_OFF, 2);
TANDEM_CHECK_FIELD(nb_segs, TANDEM_MBUF_NB_SEGS, 2);
TANDEM_CHECK_FIELD(pkt_len, TANDEM_MBUF_PKT_LEN, 4);
TANDEM_CHECK_FIELD(data_len, TANDEM_MBUF_DATA_LEN, 2);
TANDEM_CHECK_FIELD(buf_len, TANDEM_MBUF_BUF_LEN, 2);
TANDEM_CHECK_FIELD(ol_flags, TANDEM_MBUF_OL_FLAGS, 8);
_Static_assert(TANDEM_RX_IP_CKSUM_MASK == RTE_MBUF_F_RX_IP_CKSUM_MASK &&
                   TANDEM_RX_IP_CKSUM_GOOD == RTE_MBUF_F_RX_IP_CKSUM_GOOD &&
                   TANDEM_RX_IP_CKSUM_BAD == RTE_MBUF_F_RX_IP_CKSUM_BAD &&
                   TANDEM_RX_L4_CKSUM_MASK == RTE_MBUF_F_RX_L4_CKSUM_MASK &&
                   TANDEM_RX_L4_CKSUM_GOOD == RTE_MBUF_F_RX_L4_CKSUM_GOOD &&
                   TANDEM_RX_L4_CKSUM_BAD == RTE_MBUF_F_RX_L4_CKSUM_BAD,
               "DPDK's receive checksum flags moved: update TANDEM_RX_* in shim.h");

int tandem_mbuf_rss(const struct rte_mbuf *m, uint32_t *hash) {
    if (m->ol_flags & RTE_MBUF_F_RX_RSS_HASH) {
        *hash = m->hash.rss;
        return 1;
    }
    return 0;
}

void tandem_tx_csum(struct rte_mbuf *const *pkts, uint16_t n, uint16_t l2_len) {
    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *m = pkts[i];
        m->l2_len = l2_len;
        m->l3_len = 20;
        m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;
    }
}
