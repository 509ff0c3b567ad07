#include "expand/expander.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <functional>
#include <map>
#include <vector>

#include "io/checkpoint.h"
#include "model/config.h"
#include "model/init.h"
#include "model/model_folder.h"
#include "model/tensor_names.h"
#include "util/check.h"
#include "util/files.h"
#include "util/progress.h"
#include "util/strings.h"

namespace llamapro {

namespace fs = std::filesystem;

namespace {

constexpr size_t kChunkBytes = 16 << 20;  // streaming granularity

// How one output tensor gets its bytes.
struct OutputTensor {
  TensorSpec spec;
  TensorRef source;  // the input tensor it derives from
  enum class Fill { Copy, Zero, Random } fill = Fill::Copy;
};

// The output tensors in Hugging Face order: embeddings, blocks, then the rest.
std::vector<OutputTensor> output_tensors(const Checkpoint& ck, const ExpansionPlan& plan, std::optional<DType> dtype) {
  std::map<int64_t, std::vector<std::string>> by_layer;  // input block -> its tensor names
  std::vector<std::string> globals;
  for (const auto& name : ck.names()) {
    int64_t l = layer_of(name);
    if (l >= 0) by_layer[l].push_back(name);
    else globals.push_back(name);
  }
  auto out_dtype = [&](const TensorInfo& t) { return dtype && is_weight_dtype(t.dtype) ? *dtype : t.dtype; };

  std::vector<OutputTensor> out;
  auto add_global = [&](const std::string& name) {
    TensorRef ref = ck.tensor(name);
    out.push_back({{name, out_dtype(*ref.info), ref.info->shape}, ref});
  };
  std::sort(globals.begin(), globals.end());
  if (ck.contains(std::string(kEmbedTokens))) add_global(std::string(kEmbedTokens));
  for (size_t j = 0; j < plan.blocks.size(); j++) {
    const PlannedBlock& b = plan.blocks[j];
    for (const auto& name : by_layer[b.source]) {
      TensorRef ref = ck.tensor(name);
      OutputTensor t{{with_layer(name, static_cast<int64_t>(j)), out_dtype(*ref.info), ref.info->shape}, ref};
      if (b.added) {
        const std::string_view module = block_module_of(name);
        bool zeroed = std::any_of(plan.zeroed.begin(), plan.zeroed.end(), [&](const std::string& m) {
          return starts_with(module, m + ".");
        });
        if (zeroed) t.fill = OutputTensor::Fill::Zero;
        else if (plan.init == BlockInit::Random && is_weight_dtype(ref.info->dtype) && !is_rotary_buffer(name))
          t.fill = OutputTensor::Fill::Random;
      }
      out.push_back(std::move(t));
    }
  }
  for (const auto& name : globals)
    if (name != kEmbedTokens) add_global(name);
  return out;
}

// Streams one tensor's bytes into the writer in chunks of at most kChunkBytes.
void write_tensor(const OutputTensor& t, CheckpointWriter& w, double init_std, uint64_t seed,
                  const std::function<void(uint64_t)>& progressed) {
  const DType to = t.spec.dtype;
  const size_t esize = dtype_size(to);
  const size_t n = static_cast<size_t>(t.spec.nbytes() / esize);
  const size_t per_chunk = std::max<size_t>(1, kChunkBytes / 4);
  std::vector<uint8_t> buf;
  std::vector<float> f32;
  const auto& map = t.source.file->mapping();
  const uint64_t src_offset = t.source.file->file_offset(*t.source.info);
  if (t.fill == OutputTensor::Fill::Copy && t.source.info->dtype == to) {
    // Same bytes: let the kernel copy them, as cp does (no page faults, no user-space copy).
    w.append_from_file(map.fd(), src_offset, t.spec.nbytes());
    progressed(t.spec.nbytes());
    return;
  }
  Rng rng = tensor_rng(seed, t.spec.name);
  const InitKind kind = init_kind(t.spec.name, t.spec.shape.size());

  for (size_t i = 0; i < n; i += per_chunk) {
    size_t k = std::min(per_chunk, n - i);
    const void* piece = nullptr;
    switch (t.fill) {
      case OutputTensor::Fill::Copy: {
        const DType from = t.source.info->dtype;
        buf.resize(k * esize);
        convert_elements(t.source.data + i * dtype_size(from), from, buf.data(), to, k);
        piece = buf.data();
        break;
      }
      case OutputTensor::Fill::Zero:
        buf.assign(k * esize, 0);
        piece = buf.data();
        break;
      case OutputTensor::Fill::Random: {
        f32.resize(k);
        fill_init(kind, init_std, rng, f32.data(), k);
        buf.resize(k * esize);
        convert_elements(f32.data(), DType::F32, buf.data(), to, k);
        piece = buf.data();
        break;
      }
    }
    w.append(piece, k * esize);
    if (t.fill == OutputTensor::Fill::Copy)  // drop the pages we read from the mapping
      map.advise_done(src_offset + i * dtype_size(t.source.info->dtype), k * dtype_size(t.source.info->dtype));
    progressed(k * esize);
  }
}

// Disk space for the tensor data, with a margin for the small files and the file system.
void check_free_space(const fs::path& dir, uint64_t tensor_bytes) {
  constexpr uint64_t kMargin = 16 << 20;
  struct statvfs vfs {};
  if (::statvfs(dir.c_str(), &vfs) != 0) return;
  const uint64_t free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  LP_CHECK(free_bytes >= tensor_bytes + kMargin, "not enough disk space in ", dir.parent_path().string(), ": need ",
           format_bytes(tensor_bytes), " plus a ", format_bytes(kMargin), " margin, ", format_bytes(free_bytes), " free");
}

// The new manifest: old blocks keep their records (indices shifted), new blocks get this stage.
Manifest extend_manifest(const Manifest& old, const ExpansionPlan& plan, const std::string& stage, int64_t layers) {
  std::vector<int64_t> new_index(static_cast<size_t>(plan.layers_before), -1);  // old -> new
  for (size_t j = 0; j < plan.blocks.size(); j++)
    if (!plan.blocks[j].added) new_index[static_cast<size_t>(plan.blocks[j].source)] = static_cast<int64_t>(j);

  Manifest m;
  m.base_layers = old.base_layers;
  m.training = old.training;
  for (size_t j = 0; j < plan.blocks.size(); j++) {
    const PlannedBlock& b = plan.blocks[j];
    if (b.added) {
      m.blocks.push_back({stage, new_index[static_cast<size_t>(b.source)], init_name(plan.init)});
    } else {
      BlockRecord r = old.blocks[static_cast<size_t>(b.source)];
      if (r.origin != "base") r.source = new_index[static_cast<size_t>(r.source)];
      m.blocks.push_back(r);
    }
  }
  for (StageRecord s : old.stages) {
    for (auto& p : s.positions) p = new_index[static_cast<size_t>(p)];
    m.stages.push_back(s);
  }
  StageRecord s;
  s.name = stage;
  s.created = utc_now();
  s.positions = plan.added_positions();
  s.init = init_name(plan.init);
  s.zeroed = plan.zeroed;
  s.layers_before = plan.layers_before;
  s.layers_after = layers;
  m.stages.push_back(s);
  return m;
}

}  // namespace

uint64_t expanded_bytes(const ModelFolder& in, const ExpandOptions& o) {
  const ExpansionPlan plan = make_plan(o.request, in.config.num_hidden_layers);
  uint64_t total = 0;
  for (const auto& t : output_tensors(*in.checkpoint, plan, o.dtype)) total += t.spec.nbytes();
  return total;
}

ExpandResult expand_model(const fs::path& in, const fs::path& out, const ExpandOptions& o) {
  return expand_model(ModelFolder::open(in), out, o);
}

ExpandResult expand_model(const ModelFolder& in, const fs::path& out, const ExpandOptions& o) {
  ExpandResult result;
  result.plan = make_plan(o.request, in.config.num_hidden_layers);
  const ExpansionPlan& plan = result.plan;
  std::string stage = o.stage.empty() ? "stage-" + std::to_string(in.manifest.stages.size() + 1) : o.stage;
  LP_CHECK(stage != "base" && !in.manifest.find_stage(stage), "stage name \"", stage, "\" is already used in ",
           in.dir().string(), "; choose another with --stage");

  std::vector<OutputTensor> tensors = output_tensors(*in.checkpoint, plan, o.dtype);
  std::vector<TensorSpec> specs;
  uint64_t total = 0;
  for (const auto& t : tensors) {
    specs.push_back(t.spec);
    total += t.spec.nbytes();
  }
  ModelFolderWriter writer({out, OutputKind::Folder, {in.dir()}, o.force}, specs, o.max_shard_bytes);
  check_free_space(writer.stage(), total);

  Progress progress("expand", total, "B");
  uint64_t done = 0;
  auto progressed = [&](uint64_t n) {
    done += n;
    if (o.progress) progress.update(done);
  };
  for (const auto& t : tensors) write_tensor(t, writer.tensors(), in.config.initializer_range, o.seed, progressed);

  ModelConfig config = in.config;
  config.num_hidden_layers = plan.layers_after();
  if (o.dtype) config.torch_dtype = std::string(torch_dtype_name(*o.dtype));
  result.manifest = extend_manifest(in.manifest, plan, stage, config.num_hidden_layers);
  if (o.progress) progress.finish();
  writer.finish({&config, &result.manifest, in.dir(), o.before_commit});
  result.bytes_written = total;
  result.shards = writer.tensors().shard_count();
  result.seconds = progress.elapsed_seconds();
  return result;
}

}  // namespace llamapro
