// rewrite.cpp — a model folder written again with some tensors changed (see rewrite.h).
#include "model/rewrite.h"

#include <vector>

#include "io/dtype.h"
#include "util/check.h"

namespace llamapro {

void write_model_with(const ModelFolder& base, OutputSpec out, const TensorReplacement& replace,
                      const Manifest& manifest) {
  const Checkpoint& ck = *base.checkpoint;
  std::vector<TensorSpec> specs;
  for (const auto& name : ck.names()) {
    const TensorInfo& t = *ck.tensor(name).info;
    specs.push_back({name, t.dtype, t.shape});
  }
  ModelFolderWriter writer(std::move(out), specs, 5'000'000'000);
  for (const auto& spec : specs) {
    TensorRef ref = ck.tensor(spec.name);
    torch::Tensor value = replace(spec.name);
    if (!value.defined()) {  // the stored bytes, unchanged
      writer.tensors().append_from_file(ref.file->mapping().fd(), ref.file->file_offset(*ref.info), spec.nbytes());
      continue;
    }
    value = value.detach().to(torch::kCPU, torch::kFloat).contiguous();
    LP_CHECK(value.sizes().vec() == spec.shape, "internal: new value of ", spec.name, " has the wrong shape");
    std::vector<uint8_t> bytes(spec.nbytes());
    convert_elements(value.data_ptr(), DType::F32, bytes.data(), spec.dtype, size_t(value.numel()));
    writer.tensors().append(bytes.data(), bytes.size());
  }
  ModelFolderWriter::Finish finish;
  finish.config = &base.config;
  finish.manifest = &manifest;
  finish.side_files_from = base.dir();
  writer.finish(finish);
}

}  // namespace llamapro
