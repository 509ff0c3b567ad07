#include "eval/tasks.h"

#include <algorithm>
#include <sstream>
#include <functional>
#include <map>
#include <regex>

#include "tokenizer/utf8.h"
#include "util/check.h"
#include "util/files.h"
#include "util/json.h"
#include "util/random.h"
#include "util/strings.h"

namespace llamapro {

namespace {

// ---------------------------------------------------------------------------------------------
// reading

struct Line {
  json value;
  std::string where;  // "file:line"
};

std::vector<Line> read_json_lines(const std::filesystem::path& path) {
  std::istringstream in(read_file(path));
  std::vector<Line> out;
  std::string text;
  for (int64_t n = 1; std::getline(in, text); n++) {
    const std::string where = path.string() + ":" + std::to_string(n);
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    LP_CHECK(utf8::valid(text), where, ": not valid UTF-8");
    json j = parse_json(text, where);
    LP_CHECK(j.is_object(), where, ": expected a JSON object");
    out.push_back({std::move(j), where});
  }
  LP_CHECK(!out.empty(), path.string(), ": no documents");
  return out;
}

std::string str(const Line& l, const std::string& key) {
  LP_CHECK(l.value.contains(key) && l.value[key].is_string(), l.where, ": missing text field \"", key, "\"");
  return l.value[key].get<std::string>();
}

std::vector<std::string> strs(const json& v, const std::string& where, const std::string& key) {
  LP_CHECK(v.is_array() && !v.empty(), where, ": \"", key, "\" must be a non-empty list of texts");
  std::vector<std::string> out;
  for (const auto& x : v) {
    LP_CHECK(x.is_string(), where, ": \"", key, "\" must hold only texts");
    out.push_back(x.get<std::string>());
  }
  return out;
}

int gold_index(const json& v, size_t choices, const std::string& where, const std::string& key) {
  int64_t g = -1;
  if (v.is_number_integer()) g = v.get<int64_t>();
  else if (v.is_string() && !v.get<std::string>().empty() &&
           v.get<std::string>().find_first_not_of("0123456789") == std::string::npos)
    g = std::stoll(v.get<std::string>());
  else LP_FAIL(where, ": \"", key, "\" must be a choice index");
  LP_CHECK(g >= 0 && g < int64_t(choices), where, ": \"", key, "\" is ", g, ", outside the ", choices, " choices");
  return int(g);
}

// ---------------------------------------------------------------------------------------------
// one formatter per task: a JSON line -> the document's text and its choices / answer

struct Formatted {
  std::string description;  // before the few-shot examples (mmlu)
  std::string text;         // the prompt of this document (lm-eval's doc_to_text)
  std::vector<std::string> choices;  // choice tasks
  int gold = -1;
  std::vector<int> true_choices;
  std::string subject, answer;
  // winogrande fills a blank: each choice makes its own context, the continuation is shared.
  bool partial = false;
  std::string shared_continuation;
  std::vector<std::string> partial_contexts;
};

std::string capitalize(std::string s) {  // Python's str.capitalize on ASCII
  for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (!s.empty()) s[0] = char(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

// hellaswag's cleaning of WikiHow text: " [title]" becomes ". ", other [tags] go, double spaces shrink.
std::string hellaswag_clean(const std::string& text) {
  std::string s = replace_all(trim(text), " [title]", ". ");
  s = std::regex_replace(s, std::regex("\\[[^\\]]*?\\]"), "");
  return replace_all(s, "  ", " ");
}

// ARC: the question, choices by label, answerKey naming one label.
Formatted format_arc(const Line& l) {
  const json& j = l.value;
  Formatted f;
  LP_CHECK(j.contains("choices") && j["choices"].is_object(), l.where, ": missing object \"choices\"");
  f.text = "Question: " + str(l, "question") + "\nAnswer:";
  f.choices = strs(j["choices"].value("text", json()), l.where, "choices.text");
  const auto labels = strs(j["choices"].value("label", json()), l.where, "choices.label");
  LP_CHECK(labels.size() == f.choices.size(), l.where, ": choices.text has ", f.choices.size(),
           " choices but choices.label ", labels.size(), " labels");
  for (size_t i = 0; i < labels.size(); i++)
    LP_CHECK(std::find(labels.begin(), labels.begin() + long(i), labels[i]) == labels.begin() + long(i), l.where,
             ": choice label \"", labels[i], "\" appears twice in choices.label");
  const std::string key = str(l, "answerKey");
  auto it = std::find(labels.begin(), labels.end(), key);
  LP_CHECK(it != labels.end(), l.where, ": answerKey \"", key, "\" is none of the choice labels");
  f.gold = int(it - labels.begin());
  return f;
}

// HellaSwag: activity label and context (WikiHow text cleaned), four endings.
Formatted format_hellaswag(const Line& l) {
  const json& j = l.value;
  Formatted f;
  const std::string ctx = j.contains("ctx_a") ? str(l, "ctx_a") + " " + capitalize(str(l, "ctx_b")) : str(l, "ctx");
  f.text = hellaswag_clean(str(l, "activity_label") + ": " + ctx);
  for (const auto& e : strs(j.value("endings", json()), l.where, "endings")) f.choices.push_back(hellaswag_clean(e));
  f.gold = gold_index(j.value("label", json()), f.choices.size(), l.where, "label");
  return f;
}

// MMLU: the subject's description, the question with lettered choices; the letters are scored.
Formatted format_mmlu(const Line& l) {
  const json& j = l.value;
  Formatted f;
  f.choices = strs(j.value("choices", json()), l.where, "choices");
  LP_CHECK(f.choices.size() == 4, l.where, ": mmlu has 4 choices, got ", f.choices.size());
  f.subject = str(l, "subject");
  f.description = "The following are multiple choice questions (with answers) about " +
                  replace_all(f.subject, "_", " ") + ".\n\n";
  f.text = trim(str(l, "question"));
  const char* letters[] = {"A", "B", "C", "D"};
  for (int i = 0; i < 4; i++) f.text += std::string("\n") + letters[i] + ". " + f.choices[size_t(i)];
  f.text += "\nAnswer:";
  const json& a = j.value("answer", json());
  if (a.is_string() && a.get<std::string>().size() == 1 && a.get<std::string>()[0] >= 'A' && a.get<std::string>()[0] <= 'D')
    f.gold = a.get<std::string>()[0] - 'A';
  else f.gold = gold_index(a, 4, l.where, "answer");
  f.choices = {"A", "B", "C", "D"};
  return f;
}

// WinoGrande: each option fills the blank, making its own context; the rest is shared.
Formatted format_winogrande(const Line& l) {
  Formatted f;
  const std::string sentence = str(l, "sentence");
  const size_t blank = sentence.find('_');
  LP_CHECK(blank != std::string::npos, l.where, ": the sentence has no blank \"_\"");
  f.partial = true;
  f.choices = {str(l, "option1"), str(l, "option2")};
  for (const auto& o : f.choices) f.partial_contexts.push_back(sentence.substr(0, blank) + o);
  f.shared_continuation = trim(sentence.substr(blank + 1));
  const std::string answer = str(l, "answer");
  LP_CHECK(answer == "1" || answer == "2", l.where, ": \"answer\" must be \"1\" or \"2\"");
  f.gold = answer[0] - '1';
  return f;
}

// TruthfulQA mc2: every choice labelled true or false.
Formatted format_truthfulqa_mc2(const Line& l) {
  const json& j = l.value;
  Formatted f;
  f.text = "Q: " + str(l, "question") + "\nA:";
  const json& t = j.value("mc2_targets", json());
  LP_CHECK(t.is_object(), l.where, ": missing object \"mc2_targets\"");
  f.choices = strs(t.value("choices", json()), l.where, "mc2_targets.choices");
  const json& labels = t.value("labels", json());
  LP_CHECK(labels.is_array() && labels.size() == f.choices.size(), l.where,
           ": mc2_targets.labels must give one 0/1 label per choice");
  for (size_t i = 0; i < labels.size(); i++) {
    LP_CHECK(labels[i].is_number_integer() && (labels[i] == 0 || labels[i] == 1), l.where, ": labels must be 0 or 1");
    if (labels[i] == 1) f.true_choices.push_back(int(i));
  }
  LP_CHECK(!f.true_choices.empty() && f.true_choices.size() < f.choices.size(), l.where,
           ": mc2 needs at least one true and one false choice");
  f.gold = f.true_choices[0];
  return f;
}

// GSM8K: the question; the reference answer ends with "#### NUMBER".
Formatted format_gsm8k(const Line& l) {
  Formatted f;
  f.text = "Question: " + str(l, "question") + "\nAnswer:";
  f.answer = str(l, "answer");
  return f;
}

// A generic choice task: context, choices, gold index.
Formatted format_choice(const Line& l) {
  const json& j = l.value;
  Formatted f;
  f.text = str(l, "context");
  f.choices = strs(j.value("choices", json()), l.where, "choices");
  f.gold = gold_index(j.value("gold", json()), f.choices.size(), l.where, "gold");
  return f;
}

// A generic perplexity task: a text scored whole.
Formatted format_perplexity(const Line& l) {
  Formatted f;
  f.text = str(l, "text");
  return f;
}

// A generic generation task: a prompt and the exact answer.
Formatted format_generate(const Line& l) {
  Formatted f;
  f.text = str(l, "prompt");
  f.answer = str(l, "answer");
  return f;
}

// One row per task: its kind, how a document is formatted, what the harness measures on it.
struct TaskDefinition {
  const char* name;
  TaskKind kind;
  Formatted (*format)(const Line&);
  bool acc_norm;        // choice tasks: length-normalised accuracy is meaningful
  bool mc2;             // truthfulqa's probability mass on the true choices
  bool numeric_answer;  // generate: the number of the answer is compared (GSM8K)
  std::vector<std::string> stop;  // generate: where an output ends unless --stop says
};

const std::vector<TaskDefinition>& task_table() {
  static const std::vector<TaskDefinition> table = {
      {"arc_easy", TaskKind::Choice, format_arc, true, false, false, {}},
      {"arc_challenge", TaskKind::Choice, format_arc, true, false, false, {}},
      {"hellaswag", TaskKind::Choice, format_hellaswag, true, false, false, {}},
      {"mmlu", TaskKind::Choice, format_mmlu, false, false, false, {}},
      {"winogrande", TaskKind::Choice, format_winogrande, false, false, false, {}},
      {"truthfulqa_mc2", TaskKind::Choice, format_truthfulqa_mc2, false, true, false, {}},
      {"gsm8k", TaskKind::Generate, format_gsm8k, false, false, true, {"Question:", "</s>", "<|im_end|>"}},
      {"choice", TaskKind::Choice, format_choice, true, false, false, {}},
      {"perplexity", TaskKind::Perplexity, format_perplexity, false, false, false, {}},
      {"generate", TaskKind::Generate, format_generate, false, false, false, {"\n\n"}},
  };
  return table;
}

const TaskDefinition& task_definition(const std::string& name) {
  for (const TaskDefinition& d : task_table())
    if (name == d.name) return d;
  LP_FAIL("internal: no task \"", name, "\"");
}

// A few-shot example: the document with its right answer after it.
std::string example_text(const Formatted& f) {
  if (f.partial) return f.partial_contexts[size_t(f.gold)] + " " + f.shared_continuation;
  if (!f.choices.empty()) return f.text + " " + f.choices[size_t(f.gold)];
  return f.text + " " + f.answer;
}

}  // namespace

const std::vector<std::string>& task_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const TaskDefinition& d : task_table()) n.push_back(d.name);
    return n;
  }();
  return names;
}

TaskSpec parse_task_spec(const std::string& text) {
  const size_t colon = text.find(':');
  LP_CHECK(colon != std::string::npos && colon > 0 && colon + 1 < text.size(), "--task: \"", text,
           "\" is not NAME:FILE.jsonl[,FEWSHOT.jsonl]");
  TaskSpec s;
  s.name = text.substr(0, colon);
  const auto& names = task_names();
  if (std::find(names.begin(), names.end(), s.name) == names.end()) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    LP_FAIL("--task: unknown task \"", s.name, "\" (expected one of: ", list, ")");
  }
  std::string files = text.substr(colon + 1);
  const size_t comma = files.find(',');
  s.path = files.substr(0, comma);
  if (comma != std::string::npos) s.fewshot_path = files.substr(comma + 1);
  return s;
}

Task load_task(const TaskSpec& spec, const TaskOptions& o) {
  const TaskDefinition& def = task_definition(spec.name);
  Task task;
  task.name = spec.name;
  task.kind = def.kind;
  task.acc_norm = def.acc_norm;
  task.mc2 = def.mc2;
  task.numeric_answer = def.numeric_answer;
  LP_CHECK(task.kind != TaskKind::Perplexity || o.fewshot == 0, "--fewshot: perplexity tasks score documents alone");
  std::vector<Line> lines = read_json_lines(spec.path);
  std::vector<Formatted> docs;
  for (const auto& l : lines) docs.push_back(def.format(l));
  const bool separate = !spec.fewshot_path.empty();
  std::vector<Formatted> pool;
  if (separate)
    for (const auto& l : read_json_lines(spec.fewshot_path)) pool.push_back(def.format(l));
  const std::vector<Formatted>& examples = separate ? pool : docs;
  LP_CHECK(o.fewshot < int64_t(examples.size()) + (separate ? 1 : 0), "--fewshot ", o.fewshot, ": only ",
           examples.size() - (separate ? 0 : 1), " other documents to draw examples from");

  const size_t n = o.limit > 0 ? std::min(docs.size(), size_t(o.limit)) : docs.size();
  for (size_t i = 0; i < n; i++) {
    const Formatted& f = docs[i];
    // Examples drawn without replacement, seeded per document (the same whatever --limit is).
    std::string prefix = f.description;
    if (o.fewshot > 0) {
      Rng rng(o.seed ^ (0x9E3779B97F4A7C15ull * (i + 1)));
      std::vector<size_t> order(examples.size());
      for (size_t k = 0; k < order.size(); k++) order[k] = k;
      for (size_t k = order.size(); k > 1; k--) std::swap(order[k - 1], order[rng.next() % k]);
      int64_t taken = 0;
      for (size_t k : order) {
        if (taken == o.fewshot) break;
        if (!separate && k == i) continue;
        prefix += example_text(examples[k]) + "\n\n";
        taken++;
      }
    }
    TaskDoc d;
    d.source = lines[i].where;
    d.gold = f.gold;
    d.true_choices = f.true_choices;
    d.subject = f.subject;
    d.answer = f.answer;
    d.choice_texts = f.choices;
    if (task.kind == TaskKind::Choice) {
      for (size_t c = 0; c < f.choices.size(); c++) {
        d.contexts.push_back(prefix + (f.partial ? f.partial_contexts[c] : f.text));
        d.continuations.push_back(" " + (f.partial ? f.shared_continuation : f.choices[c]));
      }
    } else {
      d.text = prefix + f.text;
    }
    task.docs.push_back(std::move(d));
  }
  if (task.kind == TaskKind::Generate) {
    task.stop = !o.stop.empty() ? o.stop : def.stop;
    task.regex = o.regex;
  }
  return task;
}

std::string reference_number(const std::string& answer) {
  const size_t at = answer.rfind("####");
  if (at == std::string::npos) return extracted_number(answer);
  return extracted_number(answer.substr(at + 4));
}

std::string extracted_number(const std::string& output) {
  static const std::regex number("-?[0-9][0-9,]*(\\.[0-9]+)?");
  static const std::regex stated("[Tt]he answer is:?\\s*\\$?(-?[0-9][0-9,]*(\\.[0-9]+)?)");
  std::smatch m;
  std::string found;
  if (std::regex_search(output, m, stated)) found = m[1].str();
  else
    for (auto it = std::sregex_iterator(output.begin(), output.end(), number); it != std::sregex_iterator(); ++it)
      found = it->str();
  found.erase(std::remove(found.begin(), found.end(), ','), found.end());
  if (found.find('.') != std::string::npos) {  // 72.00 -> 72
    while (found.back() == '0') found.pop_back();
    if (found.back() == '.') found.pop_back();
  }
  return found;
}

std::string extract_with_regex(const std::string& output, const std::string& pattern) {
  std::regex re;
  try {
    re = std::regex(pattern);
  } catch (const std::regex_error& e) {
    LP_FAIL("--regex: \"", pattern, "\" is not a valid regular expression (", e.what(), ")");
  }
  std::string found;
  for (auto it = std::sregex_iterator(output.begin(), output.end(), re); it != std::sregex_iterator(); ++it)
    found = it->size() > 1 ? (*it)[1].str() : it->str();
  return trim(found);
}

}  // namespace llamapro
