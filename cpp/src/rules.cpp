#include <fastcalc/rules.hpp>

#include <array>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace fastcalc {
namespace rules {

namespace {

// Recursive descent over a table literal (short, trusted text): expr, term, unary, atom.
class Parser {
public:
    explicit Parser(const std::string& t) : s_(t) {}

    Rule run() {
        Rule r;
        out_ = &r;
        skip();
        if (pos_ == s_.size()) return r;  // "": no rule
        expr();
        skip();
        if (pos_ != s_.size()) fail("unexpected text");
        return r;
    }

private:
    int push(Node n) {
        out_->nodes.push_back(n);
        return static_cast<int>(out_->nodes.size()) - 1;
    }
    int call(Op op, int x, int y = -1) {
        Node n{Node::Call};
        n.op = op, n.x = x, n.y = y;
        return push(n);
    }
    [[noreturn]] void fail(const char* what) const {
        throw std::logic_error(std::string("ops.def: bad derivative rule '") + s_ + "': " + what + " at " +
                               std::to_string(pos_));
    }
    void skip() {
        while (pos_ < s_.size() && s_[pos_] == ' ') ++pos_;
    }
    bool eat(char c) {
        skip();
        if (pos_ < s_.size() && s_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }
    int expr() {
        int x = term();
        for (;;) {
            if (eat('+')) x = call(Op::ADD, x, term());
            else if (eat('-')) x = call(Op::SUB, x, term());
            else return x;
        }
    }
    int term() {
        int x = unary();
        for (;;) {
            if (eat('*')) x = call(Op::MUL, x, unary());
            else if (eat('/')) x = call(Op::DIV, x, unary());
            else return x;
        }
    }
    int unary() {
        if (eat('-')) return call(Op::NEG, unary());
        return atom();
    }
    std::string name() {
        skip();
        const std::size_t b = pos_;
        while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) ++pos_;
        return s_.substr(b, pos_ - b);
    }
    // An immediate: n, n + k, n - k or an integer literal.
    void immediate(Node& c) {
        skip();
        if (pos_ < s_.size() && s_[pos_] == 'n') {
            ++pos_;
            c.imm_from_n = true;
            if (eat('+')) c.imm_off = integer();
            else if (eat('-')) c.imm_off = -integer();
        } else {
            c.imm_off = integer();
        }
    }
    std::int32_t integer() {
        skip();
        const std::size_t b = pos_;
        while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
        if (b == pos_) fail("expected an integer");
        return static_cast<std::int32_t>(std::strtol(s_.c_str() + b, nullptr, 10));
    }
    int atom() {
        skip();
        if (pos_ >= s_.size()) fail("unexpected end");
        const char c = s_[pos_];
        if (c == '(') {
            ++pos_;
            const int x = expr();
            if (!eat(')')) fail("expected ')'");
            return x;
        }
        if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
            char* end = nullptr;
            Node n{Node::Num};
            n.num = std::strtod(s_.c_str() + pos_, &end);
            pos_ = static_cast<std::size_t>(end - s_.c_str());
            return push(n);
        }
        const std::string id = name();
        if (id.empty()) fail("expected a name");
        if (id == "a") return push(Node{Node::A});
        if (id == "b") return push(Node{Node::B});
        if (id == "y") return push(Node{Node::Y});
        if (id == "n") return push(Node{Node::N});
        int found = -1;
        for (int k = 0; k < kNumOps; ++k)
            if (id == info(static_cast<Op>(k)).name) found = k;
        if (found < 0 || info(static_cast<Op>(found)).arity == 0) fail("unknown operation");
        const Op op = static_cast<Op>(found);
        if (!eat('(')) fail("expected '('");
        Node cn{Node::Call};
        cn.op = op;
        if (info(op).imm) {
            immediate(cn);
            if (!eat(',')) fail("expected ','");
        }
        cn.x = expr();
        if (info(op).arity == 2) {
            if (!eat(',')) fail("expected ','");
            cn.y = expr();
        }
        if (!eat(')')) fail("expected ')'");
        return push(cn);
    }

    const std::string& s_;
    std::size_t pos_ = 0;
    Rule* out_ = nullptr;
};

struct Table {
    std::array<std::array<Rule, 2>, kNumOps> r;
    Table() {
        for (int k = 0; k < kNumOps; ++k) {
            const OpInfo& i = info(static_cast<Op>(k));
            r[static_cast<std::size_t>(k)][0] = parse(i.da);
            r[static_cast<std::size_t>(k)][1] = parse(i.db);
            if (i.arity >= 1 && r[static_cast<std::size_t>(k)][0].empty())
                throw std::logic_error(std::string("ops.def: ") + i.name + " has no rule for d/da");
            if (i.arity == 2 && r[static_cast<std::size_t>(k)][1].empty())
                throw std::logic_error(std::string("ops.def: ") + i.name + " has no rule for d/db");
        }
    }
};

}  // namespace

Rule parse(const std::string& text) { return Parser(text).run(); }

const Rule& rule(Op op, int operand) {
    static const Table t;  // parsed once (C++11: thread-safe), read-only afterwards
    return t.r[static_cast<std::size_t>(op)][static_cast<std::size_t>(operand)];
}

}  // namespace rules
}  // namespace fastcalc
