// pcre_classes.cpp — which code points this machine's PCRE2 puts in each Unicode general
// category (same output format as onig_classes.js). Built and run by gen_unicode_additions.sh.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cstdio>
#include <string>

static void append_utf8(std::string& s, unsigned c) {
  if (c < 0x80) s += char(c);
  else if (c < 0x800) s += char(0xC0 | c >> 6), s += char(0x80 | (c & 63));
  else if (c < 0x10000) s += char(0xE0 | c >> 12), s += char(0x80 | (c >> 6 & 63)), s += char(0x80 | (c & 63));
  else s += char(0xF0 | c >> 18), s += char(0x80 | (c >> 12 & 63)), s += char(0x80 | (c >> 6 & 63)), s += char(0x80 | (c & 63));
}

int main(int argc, char** argv) {
  const char* cats[] = {"L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No", "P", "Pc",
                        "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "S", "Sm", "Sc", "Sk", "So", "Z", "Zs", "Zl", "Zp"};
  for (const char* cat : cats) {
    std::string pat = std::string("^\\p{") + cat + "}$";
    int err;
    PCRE2_SIZE off;
    pcre2_code* re = pcre2_compile((PCRE2_SPTR)pat.c_str(), pat.size(), PCRE2_UTF | PCRE2_UCP, &err, &off, nullptr);
    pcre2_match_data* md = pcre2_match_data_create(1, nullptr);
    FILE* f = std::fopen((std::string(argv[1]) + "/" + cat + ".txt").c_str(), "w");
    for (unsigned c = 0; c <= 0x10FFFF; ++c) {
      if (c >= 0xD800 && c <= 0xDFFF) continue;
      std::string s;
      append_utf8(s, c);
      if (pcre2_match(re, (PCRE2_SPTR)s.data(), s.size(), 0, 0, md, nullptr) >= 0) std::fprintf(f, "%u\n", c);
    }
    std::fclose(f);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
  }
}
