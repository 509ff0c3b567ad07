/* ref_llama.h — a plain C LLaMA forward pass (llama2.c style), the peer of the model benchmark. */
#ifndef LLAMAPRO_REF_LLAMA_H
#define LLAMAPRO_REF_LLAMA_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int dim;         /* C */
  int hidden_dim;  /* I */
  int n_layers;    /* L */
  int n_heads;     /* NH */
  int n_kv_heads;  /* NKV */
  int head_dim;    /* HD */
  int vocab_size;  /* V */
  int seq_len;     /* positions the KV cache holds */
  float rope_theta;
  float norm_eps;
} RefConfig;

/* float32 weights in Hugging Face layout (row-major, out x in), one pointer per layer. */
typedef struct {
  const float* embed;              /* (V, C) */
  const float** attn_norm;         /* L x (C) */
  const float** wq;                /* L x (NH*HD, C) */
  const float** wk;                /* L x (NKV*HD, C) */
  const float** wv;                /* L x (NKV*HD, C) */
  const float** wo;                /* L x (C, NH*HD) */
  const float** mlp_norm;          /* L x (C) */
  const float** w_gate;            /* L x (I, C) */
  const float** w_up;              /* L x (I, C) */
  const float** w_down;            /* L x (C, I) */
  const float* final_norm;         /* (C) */
  const float* lm_head;            /* (V, C) */
} RefWeights;

typedef struct RefState RefState;

RefState* ref_state_new(const RefConfig* c);
void ref_state_free(RefState* s);
/* Runs one token at position pos (the cache holds 0..pos-1); returns the (V) logits. */
float* ref_forward(RefState* s, const RefWeights* w, int token, int pos);
/* Index of the largest logit. */
int ref_argmax(const float* x, int n);

#ifdef __cplusplus
}
#endif

#endif
