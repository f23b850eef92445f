#include "xgrad/nn/transformer.hpp"

#include <limits>

#include "xgrad/nn/init.hpp"

namespace xg::nn {
namespace {

void check_options(const TransformerLayerOptions& o, const char* op) {
  XG_CHECK(o.d_model > 0 && o.nhead > 0 && o.d_model % o.nhead == 0, op, "d_model ", o.d_model,
           " must be a positive multiple of nhead ", o.nhead);
  XG_CHECK(o.dim_feedforward > 0, op, "dim_feedforward must be positive, got ", o.dim_feedforward);
  XG_CHECK(o.dropout >= 0 && o.dropout <= 1, op, "dropout must be in [0, 1], got ", o.dropout);
  XG_CHECK(o.activation == "relu" || o.activation == "gelu", op, "activation should be \"relu\" or \"gelu\", got \"",
           o.activation, "\"");
}

void check_input(const Tensor& x, std::int64_t d_model, bool batch_first, const char* op, const char* name) {
  XG_CHECK(x.defined() && x.dim() == 3 && x.size(2) == d_model, op, name, " must be ",
           batch_first ? "[N, T, d_model]" : "[T, N, d_model]", " with d_model = ", d_model, ", got ",
           x.defined() ? x.shape() : Shape{});
}

std::shared_ptr<MultiheadAttention> attention(const TransformerLayerOptions& o) {
  auto a = std::make_shared<MultiheadAttention>(o.d_model, o.nhead, true, o.batch_first);
  a->dropout = o.dropout;
  return a;
}

/// linear2(dropout(activation(linear1(x)))), the position-wise feed-forward block.
Tensor feed_forward(const TransformerLayerOptions& o, Linear& linear1, Dropout& dropout, Linear& linear2, const Tensor& x) {
  const Tensor h = linear1(x);
  return linear2(dropout(o.activation == "gelu" ? gelu(h) : relu(h)));
}

Tensor self_attention(MultiheadAttention& attn, const Tensor& x, const Tensor& mask, const Tensor& padding, bool causal) {
  return attn.forward(x, x, x, mask, causal, false, padding).first;
}

}  // namespace

TransformerEncoderLayer::TransformerEncoderLayer(const TransformerLayerOptions& o)
    : Module("TransformerEncoderLayer"), options(o) {
  check_options(o, "TransformerEncoderLayer");
  self_attn = register_module("self_attn", attention(o));
  linear1 = register_module("linear1", std::make_shared<Linear>(o.d_model, o.dim_feedforward));
  dropout = register_module("dropout", std::make_shared<Dropout>(o.dropout));
  linear2 = register_module("linear2", std::make_shared<Linear>(o.dim_feedforward, o.d_model));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(Shape{o.d_model}, o.layer_norm_eps));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(Shape{o.d_model}, o.layer_norm_eps));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(o.dropout));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(o.dropout));
}

Tensor TransformerEncoderLayer::forward(const Tensor& src, const Tensor& src_mask, const Tensor& src_key_padding_mask,
                                        bool is_causal) {
  check_input(src, options.d_model, options.batch_first, "TransformerEncoderLayer", "src");
  auto sa = [&](const Tensor& x) {
    return (*dropout1)(self_attention(*self_attn, x, src_mask, src_key_padding_mask, is_causal));
  };
  auto ff = [&](const Tensor& x) { return (*dropout2)(feed_forward(options, *linear1, *dropout, *linear2, x)); };
  Tensor x = src;
  if (options.norm_first) {
    x = x + sa((*norm1)(x));
    return x + ff((*norm2)(x));
  }
  x = (*norm1)(x + sa(x));
  return (*norm2)(x + ff(x));
}

TransformerDecoderLayer::TransformerDecoderLayer(const TransformerLayerOptions& o)
    : Module("TransformerDecoderLayer"), options(o) {
  check_options(o, "TransformerDecoderLayer");
  self_attn = register_module("self_attn", attention(o));
  multihead_attn = register_module("multihead_attn", attention(o));
  linear1 = register_module("linear1", std::make_shared<Linear>(o.d_model, o.dim_feedforward));
  dropout = register_module("dropout", std::make_shared<Dropout>(o.dropout));
  linear2 = register_module("linear2", std::make_shared<Linear>(o.dim_feedforward, o.d_model));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(Shape{o.d_model}, o.layer_norm_eps));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(Shape{o.d_model}, o.layer_norm_eps));
  norm3 = register_module("norm3", std::make_shared<LayerNorm>(Shape{o.d_model}, o.layer_norm_eps));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(o.dropout));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(o.dropout));
  dropout3 = register_module("dropout3", std::make_shared<Dropout>(o.dropout));
}

Tensor TransformerDecoderLayer::forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask,
                                        const Tensor& memory_mask, const Tensor& tgt_key_padding_mask,
                                        const Tensor& memory_key_padding_mask, bool tgt_is_causal) {
  check_input(tgt, options.d_model, options.batch_first, "TransformerDecoderLayer", "tgt");
  check_input(memory, options.d_model, options.batch_first, "TransformerDecoderLayer", "memory");
  const int batch_dim = options.batch_first ? 0 : 1;
  XG_CHECK(tgt.size(batch_dim) == memory.size(batch_dim), "TransformerDecoderLayer",
           "tgt and memory must have the same batch size, got ", tgt.shape(), " and ", memory.shape());
  auto sa = [&](const Tensor& x) {
    return (*dropout1)(self_attention(*self_attn, x, tgt_mask, tgt_key_padding_mask, tgt_is_causal));
  };
  auto cross = [&](const Tensor& x) {
    return (*dropout2)(
        multihead_attn->forward(x, memory, memory, memory_mask, false, false, memory_key_padding_mask).first);
  };
  auto ff = [&](const Tensor& x) { return (*dropout3)(feed_forward(options, *linear1, *dropout, *linear2, x)); };
  Tensor x = tgt;
  if (options.norm_first) {
    x = x + sa((*norm1)(x));
    x = x + cross((*norm2)(x));
    return x + ff((*norm3)(x));
  }
  x = (*norm1)(x + sa(x));
  x = (*norm2)(x + cross(x));
  return (*norm3)(x + ff(x));
}

TransformerEncoder::TransformerEncoder(const TransformerLayerOptions& layer, std::int64_t num_layers, bool final_norm)
    : Module("TransformerEncoder") {
  XG_CHECK(num_layers >= 0, "TransformerEncoder", "num_layers must be >= 0, got ", num_layers);
  layers = register_module("layers", std::make_shared<ModuleList>());
  for (std::int64_t i = 0; i < num_layers; ++i) layers->push_back(std::make_shared<TransformerEncoderLayer>(layer));
  if (final_norm) norm = register_module("norm", std::make_shared<LayerNorm>(Shape{layer.d_model}, layer.layer_norm_eps));
}

Tensor TransformerEncoder::forward(const Tensor& src, const Tensor& mask, const Tensor& src_key_padding_mask,
                                   bool is_causal) {
  Tensor x = src;
  for (const auto& m : *layers)
    x = static_cast<TransformerEncoderLayer&>(*m).forward(x, mask, src_key_padding_mask, is_causal);
  return norm ? (*norm)(x) : x;
}

TransformerDecoder::TransformerDecoder(const TransformerLayerOptions& layer, std::int64_t num_layers, bool final_norm)
    : Module("TransformerDecoder") {
  XG_CHECK(num_layers >= 0, "TransformerDecoder", "num_layers must be >= 0, got ", num_layers);
  layers = register_module("layers", std::make_shared<ModuleList>());
  for (std::int64_t i = 0; i < num_layers; ++i) layers->push_back(std::make_shared<TransformerDecoderLayer>(layer));
  if (final_norm) norm = register_module("norm", std::make_shared<LayerNorm>(Shape{layer.d_model}, layer.layer_norm_eps));
}

Tensor TransformerDecoder::forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask,
                                   const Tensor& memory_mask, const Tensor& tgt_key_padding_mask,
                                   const Tensor& memory_key_padding_mask, bool tgt_is_causal) {
  Tensor x = tgt;
  for (const auto& m : *layers)
    x = static_cast<TransformerDecoderLayer&>(*m).forward(x, memory, tgt_mask, memory_mask, tgt_key_padding_mask,
                                                          memory_key_padding_mask, tgt_is_causal);
  return norm ? (*norm)(x) : x;
}

Transformer::Transformer(const TransformerLayerOptions& layer, std::int64_t num_encoder_layers,
                         std::int64_t num_decoder_layers)
    : Module("Transformer"), batch_first(layer.batch_first) {
  check_options(layer, "Transformer");
  encoder = register_module("encoder", std::make_shared<TransformerEncoder>(layer, num_encoder_layers, true));
  decoder = register_module("decoder", std::make_shared<TransformerDecoder>(layer, num_decoder_layers, true));
  for (Tensor& p : parameters())
    if (p.dim() > 1) init::xavier_uniform_(p);
}

Tensor Transformer::forward(const Tensor& src, const Tensor& tgt, const Tensor& src_mask, const Tensor& tgt_mask,
                            const Tensor& memory_mask, const Tensor& src_key_padding_mask,
                            const Tensor& tgt_key_padding_mask, const Tensor& memory_key_padding_mask) {
  const int batch_dim = batch_first ? 0 : 1;
  XG_CHECK(src.defined() && tgt.defined() && src.dim() == 3 && tgt.dim() == 3 &&
               src.size(batch_dim) == tgt.size(batch_dim) && src.size(2) == tgt.size(2),
           "Transformer", "src and tgt must be ", batch_first ? "[N, S, E] and [N, T, E]" : "[S, N, E] and [T, N, E]",
           " with the same N and E, got ", src.defined() ? src.shape() : Shape{}, " and ",
           tgt.defined() ? tgt.shape() : Shape{});
  const Tensor memory = encoder->forward(src, src_mask, src_key_padding_mask);
  return decoder->forward(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask);
}

Tensor Transformer::generate_square_subsequent_mask(std::int64_t size, Dtype dtype) {
  XG_CHECK(size >= 0, "generate_square_subsequent_mask", "size must be >= 0, got ", size);
  return triu(full(Shape{size, size}, -std::numeric_limits<double>::infinity(), dtype), 1);
}

}  // namespace xg::nn
