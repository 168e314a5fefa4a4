/* The C side of tandem-dpdk: every DPDK call Tandem makes, behind plain
 * functions with C scalar and opaque-pointer types.
 *
 * DPDK's fast-path calls (rte_eth_rx_burst, rte_eth_tx_burst,
 * rte_pktmbuf_alloc, ...) are `static inline` in its headers, so Rust
 * cannot link to them; and its configuration structs (rte_eth_conf) change
 * between releases. This shim is compiled against the installed headers by
 * build.rs, and src/sys.rs is generated from this header alone with
 * bindgen (see the crate README), so the Rust side depends on these
 * signatures, not on DPDK's struct layouts, except for the few mbuf
 * fields under "Mbufs", whose offsets are checked here at build time.
 *
 * Return values: 0 or a count on success, a negative errno on failure
 * (DPDK's convention), unless said otherwise.
 */
#ifndef TANDEM_DPDK_SHIM_H
#define TANDEM_DPDK_SHIM_H

#include <stddef.h>
#include <stdint.h>

struct rte_mempool;
struct rte_mbuf;

/* rte_eal_init with argv; returns the number of arguments parsed or a
 * negative errno (rte_errno). */
int tandem_eal_init(int argc, char **argv);
/* rte_eal_cleanup. */
int tandem_eal_cleanup(void);
/* The last rte_errno and its text. */
int tandem_errno(void);
const char *tandem_strerror(int err);

/* A packet mempool (rte_pktmbuf_pool_create) of `n` mbufs with
 * `data_room` bytes each, on NUMA socket `socket` (-1: any). NULL on
 * failure (see tandem_errno). */
struct rte_mempool *tandem_pool_create(const char *name, unsigned n, unsigned cache,
                                       uint16_t data_room, int socket);
void tandem_pool_free(struct rte_mempool *mp);
/* Mbufs of the pool not in use. */
unsigned tandem_pool_avail(const struct rte_mempool *mp);

/* Ports. */
uint16_t tandem_port_count(void);
/* Two ring-based ports wired back to back (what one sends, the other
 * receives), named `name`_a and `name`_b: a test network with no device
 * at all. Ids in *a and *b. */
int tandem_ring_pair(const char *name, uint16_t *a, uint16_t *b);
/* The port id of a device by name (e.g. "net_ring0"); negative errno. */
int tandem_port_by_name(const char *name, uint16_t *port);
/* Checksum offloads (tandem_port_start's `offloads`). */
#define TANDEM_RX_CKSUM 1u /* the device checks IPv4 and UDP checksums */
#define TANDEM_TX_CKSUM 2u /* the device fills them in */

/* Configures `rxq` RX and `txq` TX queues of `desc` descriptors each,
 * RSS over UDP ports when the device offers it and rxq > 1, IPv4 and UDP
 * checksum offloads in each direction where the device has both, starts
 * the port and turns promiscuous mode on (best effort). `*offloads` gets
 * the TANDEM_*_CKSUM bits turned on. */
int tandem_port_start(uint16_t port, uint16_t rxq, uint16_t txq, uint16_t desc,
                      struct rte_mempool *mp, uint32_t *offloads);
int tandem_port_stop(uint16_t port);
/* The port's MAC address (6 bytes). */
int tandem_port_mac(uint16_t port, uint8_t mac[6]);
/* Sets the port's MAC address (rte_eth_dev_default_mac_addr_set; for a
 * TAP, the kernel interface's too). */
int tandem_port_set_mac(uint16_t port, const uint8_t mac[6]);
/* The port's NUMA socket (-1 when unknown). */
int tandem_port_socket(uint16_t port);
/* Counters: packets and bytes in and out, missed, errors. */
int tandem_port_stats(uint16_t port, uint64_t out[6]);

/* The fast path. */
uint16_t tandem_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
uint16_t tandem_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);

/* Asks the device to fill in the IPv4 header and UDP checksums of each of
 * `n` IPv4/UDP frames whose Ethernet header (with any VLAN tag) is
 * `l2_len` bytes and IPv4 header 20 bytes: offload flags and lengths set;
 * the IPv4 checksum field must be 0 and the UDP one the pseudo-header sum. */
void tandem_tx_csum(struct rte_mbuf *const *pkts, uint16_t n, uint16_t l2_len);

/* Mbufs. */
struct rte_mbuf *tandem_mbuf_alloc(struct rte_mempool *mp);
void tandem_mbuf_free(struct rte_mbuf *m);
/* The first segment's data and its length. */
uint8_t *tandem_mbuf_data(struct rte_mbuf *m, uint16_t *len);
/* Byte offsets of the struct rte_mbuf fields the Rust side reads and
 * moves itself on every packet (the data's place and length, which
 * rte_pktmbuf_adj and rte_pktmbuf_prepend change, and the receive
 * flags), so that those stay inline instead of a call here each. DPDK 22.11's layout on 64-bit
 * machines; shim.c checks every one against <rte_mbuf.h> at build time. */
#define TANDEM_MBUF_BUF_ADDR 0
#define TANDEM_MBUF_DATA_OFF 16
#define TANDEM_MBUF_NB_SEGS 20
#define TANDEM_MBUF_PKT_LEN 36
#define TANDEM_MBUF_DATA_LEN 40
#define TANDEM_MBUF_BUF_LEN 54
#define TANDEM_MBUF_OL_FLAGS 24
/* What the device said of a received packet's checksums, in its ol_flags
 * (RTE_MBUF_F_RX_IP_CKSUM_* and RTE_MBUF_F_RX_L4_CKSUM_*; both bits set
 * means "not checked"). */
#define TANDEM_RX_IP_CKSUM_MASK 0x90
#define TANDEM_RX_IP_CKSUM_GOOD 0x80
#define TANDEM_RX_IP_CKSUM_BAD 0x10
#define TANDEM_RX_L4_CKSUM_MASK 0x108
#define TANDEM_RX_L4_CKSUM_GOOD 0x100
#define TANDEM_RX_L4_CKSUM_BAD 0x08
/* The RSS hash the NIC computed, and whether it did. */
int tandem_mbuf_rss(const struct rte_mbuf *m, uint32_t *hash);

#endif
