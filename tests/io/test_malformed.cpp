// test_malformed.cpp — a corpus of malformed model folders, generated here from a valid one:
// `llamapro inspect DIR` must exit 1 with one "error: " line naming the problem, never crash,
// and leave the folder unchanged.
#include <gtest/gtest.h>

#include <functional>

#include "io_helpers.h"
#include "util/check.h"

namespace llamapro::testing {
namespace {

struct Case {
  std::string name;
  bool sharded;                              // start from the sharded or the single-file folder
  std::function<void(const fs::path&)> edit;  // breaks the folder
  std::string expect;                         // a part of the error message
};

const char* kSingle = "model.safetensors";
const char* kIndex = "model.safetensors.index.json";
const uint64_t kShardBytes = 1500;

// Edits the header JSON of a safetensors file, keeping its data area.
void edit_header(const fs::path& file, const std::function<void(json&)>& f) {
  RawSafetensors r = split_safetensors(read_bytes(file));
  f(r.header);
  write_bytes(file, join_safetensors(r));
}

// Replaces the header text verbatim.
void set_header_text(const fs::path& file, const std::string& text) {
  RawSafetensors r = split_safetensors(read_bytes(file));
  write_bytes(file, join_safetensors(text, r.data));
}

void set_length_prefix(const fs::path& file, uint64_t n) {
  std::string b = read_bytes(file);
  for (int i = 0; i < 8; i++) b[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  write_bytes(file, b);
}

void edit_json(const fs::path& file, const std::function<void(json&)>& f) {
  json j = read_json_file(file);
  f(j);
  write_bytes(file, j.dump(2));
}

std::string first_shard(const fs::path& dir) {
  return read_json_file(dir / kIndex)["weight_map"]["model.embed_tokens.weight"].get<std::string>();
}

const std::string kNorm0 = "model.layers.0.input_layernorm.weight";
const std::string kNorm0b = "model.layers.0.post_attention_layernorm.weight";

std::vector<Case> cases() {
  std::vector<Case> c;
  // --- the safetensors file itself
  c.push_back({"truncated file", false, [](const fs::path& d) {
                 std::string b = read_bytes(d / kSingle);
                 write_bytes(d / kSingle, b.substr(0, b.size() / 2));
               }, "past the data area"});
  c.push_back({"shorter than the length prefix", false, [](const fs::path& d) { write_bytes(d / kSingle, "abc"); },
               "need at least 8"});
  c.push_back({"empty weights file", false, [](const fs::path& d) { write_bytes(d / kSingle, ""); }, "need at least 8"});
  c.push_back({"huge header length", false, [](const fs::path& d) { set_length_prefix(d / kSingle, uint64_t(1) << 40); },
               "exceeds"});
  c.push_back({"all-ones header length", false, [](const fs::path& d) { set_length_prefix(d / kSingle, UINT64_MAX); },
               "exceeds"});
  c.push_back({"header length past the end", false, [](const fs::path& d) {
                 set_length_prefix(d / kSingle, fs::file_size(d / kSingle));
               }, "runs past the end"});
  c.push_back({"offsets past the end", false, [](const fs::path& d) {
                 edit_header(d / kSingle, [](json& h) {
                   uint64_t end = h["model.norm.weight"]["data_offsets"][1].get<uint64_t>();
                   h["model.norm.weight"]["data_offsets"] = {end + 1000, end + 1032};
                 });
               }, "past the data area"});
  c.push_back({"overlapping ranges", false, [](const fs::path& d) {
                 edit_header(d / kSingle, [](json& h) { h[kNorm0b]["data_offsets"] = h[kNorm0]["data_offsets"]; });
               }, "overlap"});
  c.push_back({"wrong dtype size", false, [](const fs::path& d) {
                 edit_header(d / kSingle, [](json& h) { h[kNorm0]["dtype"] = "F16"; });
               }, "need 16"});
  c.push_back({"shape times dtype differs from range", false, [](const fs::path& d) {
                 edit_header(d / kSingle, [](json& h) { h[kNorm0]["shape"] = {9}; });
               }, "need 36"});
  c.push_back({"unknown dtype", false, [](const fs::path& d) {
                 edit_header(d / kSingle, [](json& h) { h[kNorm0]["dtype"] = "F24"; });
               }, "unknown dtype \"F24\""});
  c.push_back({"bad JSON header", false, [](const fs::path& d) { set_header_text(d / kSingle, "{\"a\": [1, 2"); },
               "invalid JSON"});
  c.push_back({"number overflow in header", false, [](const fs::path& d) {
                 set_header_text(d / kSingle, "{\"a\": {\"dtype\": \"F32\", \"shape\": [1e999]}}");
               }, "invalid JSON"});
  c.push_back({"non-object header", false, [](const fs::path& d) { set_header_text(d / kSingle, "[1, 2, 3]"); },
               "not a JSON object"});
  c.push_back({"negative shape", false, [](const fs::path& d) {
                 edit_header(d / kSingle, [](json& h) { h[kNorm0]["shape"] = {-8}; });
               }, "non-negative"});
  c.push_back({"reversed offsets", false, [](const fs::path& d) {
                 edit_header(d / kSingle, [](json& h) {
                   auto o = h[kNorm0]["data_offsets"];
                   h[kNorm0]["data_offsets"] = {o[1], o[0]};
                 });
               }, "reversed"});
  c.push_back({"tensor entry not an object", false, [](const fs::path& d) {
                 edit_header(d / kSingle, [](json& h) { h[kNorm0] = "x"; });
               }, "is not an object"});
  c.push_back({"metadata not strings", false, [](const fs::path& d) {
                 edit_header(d / kSingle, [](json& h) { h["__metadata__"] = {{"format", 1}}; });
               }, "not a string"});
  c.push_back({"weights file is a directory", false, [](const fs::path& d) {
                 fs::remove(d / kSingle);
                 fs::create_directory(d / kSingle);
               }, "is a folder; expected a file"});
  c.push_back({"no weights", false, [](const fs::path& d) { fs::remove(d / kSingle); }, "no model.safetensors"});
  c.push_back({"only pytorch weights", false, [](const fs::path& d) {
                 fs::rename(d / kSingle, d / "pytorch_model.bin");
               }, "not supported"});
  // --- the index of a sharded folder
  c.push_back({"index lists a missing tensor", true, [](const fs::path& d) {
                 std::string shard = first_shard(d);
                 edit_json(d / kIndex, [&](json& j) { j["weight_map"]["model.layers.0.extra.weight"] = shard; });
               }, "but that shard lacks it"});
  c.push_back({"index lists a missing shard", true, [](const fs::path& d) {
                 edit_json(d / kIndex, [](json& j) {
                   j["weight_map"]["model.layers.0.extra.weight"] = "model-00099-of-00099.safetensors";
                 });
               }, "which does not exist"});
  c.push_back({"shard deleted", true, [](const fs::path& d) { fs::remove(d / first_shard(d)); }, "which does not exist"});
  c.push_back({"tensor in shard not in index", true, [](const fs::path& d) {
                 edit_json(d / kIndex, [](json& j) { j["weight_map"].erase(kNorm0); });
               }, "which the index does not list there"});
  c.push_back({"duplicate tensor across shards", true, [](const fs::path& d) {
                 // A second shard also holds the first shard's tensor, under the same name.
                 json index = read_json_file(d / kIndex);
                 std::string a = index["weight_map"]["model.embed_tokens.weight"], b = index["weight_map"]["lm_head.weight"];
                 ASSERT_NE(a, b);
                 SafetensorsFile fa(d / a), fb(d / b);
                 std::vector<TensorSpec> specs;
                 std::vector<const void*> data;
                 for (const SafetensorsFile* f : {&fb, &fa})
                   for (const auto& t : f->tensors()) {
                     if (f == &fa && t.name != "model.embed_tokens.weight") continue;
                     specs.push_back({t.name, t.dtype, t.shape});
                     data.push_back(f->data(t));
                   }
                 write_safetensors(d / "dup.tmp", specs, data);
                 fs::rename(d / "dup.tmp", d / b);
               }, "model.embed_tokens.weight"});
  c.push_back({"shard name escapes the folder", true, [](const fs::path& d) {
                 edit_json(d / kIndex, [](json& j) { j["weight_map"][kNorm0] = "../x.safetensors"; });
               }, "plain file name"});
  c.push_back({"index not JSON", true, [](const fs::path& d) { write_bytes(d / kIndex, "{\"weight_map\": "); },
               "invalid JSON"});
  c.push_back({"index without weight_map", true, [](const fs::path& d) { write_bytes(d / kIndex, "{\"metadata\": {}}"); },
               "weight_map"});
  c.push_back({"index entry not a string", true, [](const fs::path& d) {
                 edit_json(d / kIndex, [](json& j) { j["weight_map"][kNorm0] = 3; });
               }, "is not a file name"});
  c.push_back({"truncated shard", true, [](const fs::path& d) {
                 fs::path f = d / first_shard(d);
                 std::string b = read_bytes(f);
                 write_bytes(f, b.substr(0, b.size() - 4));
               }, "past the data area"});
  // --- config.json
  c.push_back({"no config", false, [](const fs::path& d) { fs::remove(d / "config.json"); }, "no config.json"});
  c.push_back({"config not JSON", false, [](const fs::path& d) { write_bytes(d / "config.json", "hidden_size = 8\n"); },
               "invalid JSON"});
  c.push_back({"config not an object", false, [](const fs::path& d) { write_bytes(d / "config.json", "[8]"); },
               "expected a JSON object"});
  c.push_back({"config missing a key", false, [](const fs::path& d) {
                 edit_json(d / "config.json", [](json& j) { j.erase("intermediate_size"); });
               }, "missing key \"intermediate_size\""});
  c.push_back({"config key of wrong type", false, [](const fs::path& d) {
                 edit_json(d / "config.json", [](json& j) { j["vocab_size"] = "16"; });
               }, "\"vocab_size\" has the wrong type"});
  c.push_back({"config integer overflow", false, [](const fs::path& d) {
                 edit_json(d / "config.json", [](json& j) { j["hidden_size"] = 1e300; });
               }, "integer in range"});
  c.push_back({"config number beyond double", false, [](const fs::path& d) {
                 write_bytes(d / "config.json", "{\"hidden_size\": 1e999}");
               }, "invalid JSON"});
  c.push_back({"unsupported architecture", false, [](const fs::path& d) {
                 edit_json(d / "config.json", [](json& j) {
                   j["architectures"] = {"GPT2LMHeadModel"};
                   j["model_type"] = "gpt2";
                 });
               }, "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM"});
  c.push_back({"unsupported rope type", false, [](const fs::path& d) {
                 edit_json(d / "config.json", [](json& j) { j["rope_scaling"] = {{"type", "dynamic"}, {"factor", 2.0}}; });
               }, "unsupported rope type \"dynamic\""});
  // --- config and tensors disagree
  c.push_back({"tensor shape not matching config", false, [](const fs::path& d) {
                 edit_json(d / "config.json", [](json& j) { j["intermediate_size"] = 10; });
               }, "but config.json implies"});
  c.push_back({"missing tensor", false, [](const fs::path& d) {
                 edit_json(d / "config.json", [](json& j) { j["num_hidden_layers"] = 3; });
               }, "\"model.layers.2.input_layernorm.weight\" is missing"});
  c.push_back({"missing tensor in a sharded folder", true, [](const fs::path& d) {
                 edit_json(d / "config.json", [](json& j) { j["num_hidden_layers"] = 5; });
               }, "is missing"});
  c.push_back({"unexpected tensor", false, [](const fs::path& d) {
                 edit_json(d / "config.json", [](json& j) { j["num_hidden_layers"] = 1; });
               }, "unexpected tensor \"model.layers.1."});
  c.push_back({"lm_head missing when untied", false, [](const fs::path& d) {
                 SafetensorsFile f(d / kSingle);
                 std::vector<TensorSpec> specs;
                 std::vector<const void*> data;
                 for (const auto& t : f.tensors())
                   if (t.name != "lm_head.weight") {
                     specs.push_back({t.name, t.dtype, t.shape});
                     data.push_back(f.data(t));
                   }
                 write_safetensors(d / "new.tmp", specs, data);
                 fs::rename(d / "new.tmp", d / kSingle);
               }, "\"lm_head.weight\" is missing"});
  c.push_back({"weights of a non-float dtype", false, [](const fs::path& d) {
                 edit_header(d / kSingle, [](json& h) { h[kNorm0]["dtype"] = "I32"; });
               }, "weights must be F32, F16 or BF16"});
  return c;
}

class Malformed : public ::testing::Test {
 protected:
  void SetUp() override {
    write_model(tmp_.path() / "single", tiny_config_json());
    write_model(tmp_.path() / "sharded", tiny_config_json(), kShardBytes);
  }
  TempDir tmp_;
};

TEST_F(Malformed, ValidFoldersInspectCleanly) {
  for (const char* d : {"single", "sharded"}) {
    CliResult r = run_cli("inspect " + tmp_.str(d));
    EXPECT_EQ(r.status, 0) << d << ": " << r.err;
    EXPECT_TRUE(r.err.empty()) << r.err;
  }
  ASSERT_TRUE(fs::exists(tmp_.path() / "sharded" / kIndex));
  ASSERT_GT(read_json_file(tmp_.path() / "sharded" / kIndex)["weight_map"].size(), 0u);
}

TEST_F(Malformed, EveryCaseIsOneCleanErrorAndLeavesTheFolderAlone) {
  int n = 0;
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const fs::path dir = tmp_.path() / ("case" + std::to_string(n++));
    fs::copy(tmp_.path() / (c.sharded ? "sharded" : "single"), dir, fs::copy_options::recursive);
    c.edit(dir);
    if (::testing::Test::HasFatalFailure()) return;
    auto before = snapshot(dir);
    CliResult r = run_cli("inspect " + dir.string());
    EXPECT_TRUE(is_clean_error(r)) << c.name;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << "expected \"" << c.expect << "\" in: " << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_EQ(snapshot(dir), before) << "inspect modified its input";
    // The library gives the same verdict without the CLI: an llamapro::Error, nothing else.
    try {
      Checkpoint ck = Checkpoint::open(dir);
      ModelConfig cfg = ModelConfig::from_json(ck.config(), (dir / "config.json").string());
      validate_checkpoint(cfg, ck);
      ADD_FAILURE() << "the library accepted it";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(c.expect), std::string::npos) << e.what();
    }
  }
  EXPECT_GE(n, 40);
}

TEST_F(Malformed, BadCommandLinesAreCleanErrors) {
  EXPECT_TRUE(is_clean_error(run_cli("inspect " + tmp_.str("does-not-exist"))));
  write_bytes(tmp_.path() / "file", "x");
  CliResult r = run_cli("inspect " + tmp_.str("file"));
  EXPECT_TRUE(is_clean_error(r));
  EXPECT_NE(r.err.find("neither a model folder nor a GGUF file"), std::string::npos) << r.err;
  EXPECT_TRUE(is_clean_error(run_cli("inspect")));
  EXPECT_TRUE(is_clean_error(run_cli("inspect --no-such-flag " + tmp_.str("single"))));
}

}  // namespace
}  // namespace llamapro::testing
