/* Test-only shim over libspandsp.
 *
 * spandsp's G.711 coders are `static inline` in <spandsp/g711.h>, so they
 * have no symbol to link against: these loops instantiate them, compiled
 * with -O2, so that benchmarks compare our code with spandsp's at its
 * best rather than with one FFI call per sample. */
#include <stdint.h>
#include <inttypes.h>
#include <spandsp.h>

void tandem_oracle_linear_to_alaw(const int16_t *in, uint8_t *out, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = linear_to_alaw(in[i]);
}

void tandem_oracle_alaw_to_linear(const uint8_t *in, int16_t *out, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = alaw_to_linear(in[i]);
}

void tandem_oracle_linear_to_ulaw(const int16_t *in, uint8_t *out, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = linear_to_ulaw(in[i]);
}

void tandem_oracle_ulaw_to_linear(const uint8_t *in, int16_t *out, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = ulaw_to_linear(in[i]);
}

/* G.722 at 64 kbit/s, 16 kHz linear (no G722_SAMPLE_RATE_8000, no packing). */
void *tandem_oracle_g722_encoder_new(void)
{
    return g722_encode_init(NULL, 64000, 0);
}

void tandem_oracle_g722_encoder_free(void *s)
{
    g722_encode_free((g722_encode_state_t *) s);
}

int tandem_oracle_g722_encode(void *s, const int16_t *pcm, int n, uint8_t *out)
{
    return g722_encode((g722_encode_state_t *) s, out, pcm, n);
}

void *tandem_oracle_g722_decoder_new(void)
{
    return g722_decode_init(NULL, 64000, 0);
}

void tandem_oracle_g722_decoder_free(void *s)
{
    g722_decode_free((g722_decode_state_t *) s);
}

int tandem_oracle_g722_decode(void *s, const uint8_t *code, int n, int16_t *out)
{
    return g722_decode((g722_decode_state_t *) s, out, code, n);
}

void *tandem_oracle_dtmf_rx_new(void)
{
    return dtmf_rx_init(NULL, NULL, NULL);
}

void tandem_oracle_dtmf_rx_free(void *s)
{
    dtmf_rx_free((dtmf_rx_state_t *) s);
}

void tandem_oracle_dtmf_rx_parms(void *s, int filter_dialtone, int twist, int reverse_twist, int threshold)
{
    dtmf_rx_parms((dtmf_rx_state_t *) s, filter_dialtone, twist, reverse_twist, threshold);
}

void tandem_oracle_dtmf_rx(void *s, const int16_t *amp, int n)
{
    dtmf_rx((dtmf_rx_state_t *) s, amp, n);
}

int tandem_oracle_dtmf_rx_get(void *s, char *digits, int max)
{
    return (int) dtmf_rx_get((dtmf_rx_state_t *) s, digits, max);
}

/* G.722 with G722_SAMPLE_RATE_8000: 8 kHz linear samples are the lower
 * band; the higher band is not coded (encoder) or not decoded (decoder). */
void *tandem_oracle_g722_encoder_new_8k(void)
{
    return g722_encode_init(NULL, 64000, G722_SAMPLE_RATE_8000);
}

void *tandem_oracle_g722_decoder_new_8k(void)
{
    return g722_decode_init(NULL, 64000, G722_SAMPLE_RATE_8000);
}
