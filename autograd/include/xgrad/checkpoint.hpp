#pragma once
// Gradient checkpointing: run f without keeping its intermediates; during
// backward, run it again (with the same random state, so dropout masks
// match) to rebuild them. Trades compute for memory on deep models.
#include <functional>
#include <type_traits>

#include "xgrad/autograd.hpp"

namespace xg {

TensorList checkpoint_impl(const std::function<TensorList(const TensorList&)>& f, const TensorList& inputs);

/// f returns a Tensor or a TensorList; the result is always a TensorList.
/// f is copied and called again during backward, so what it captures by
/// reference must still be alive then. Use backward() (not grad() or
/// create_graph) through a checkpoint: Note [Checkpoint backward].
template <class F>
TensorList checkpoint(F f, const TensorList& inputs) {
  using R = std::invoke_result_t<F&, const TensorList&>;
  if constexpr (std::is_same_v<std::decay_t<R>, Tensor>) {
    return checkpoint_impl([f](const TensorList& in) -> TensorList { return {f(in)}; }, inputs);
  } else {
    return checkpoint_impl(std::function<TensorList(const TensorList&)>(std::move(f)), inputs);
  }
}

}  // namespace xg
