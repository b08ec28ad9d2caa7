using System.Globalization;
using System.Text;

namespace Broker.Core.Rules;

/// <summary>One item of the SELECT list: <c>*</c> (<see cref="Expr"/> null), or an expression with an optional alias.</summary>
internal sealed record SelectField(SqlExpr? Expr, string? Alias, string Text);

/// <summary>A parsed statement: <c>SELECT fields FROM "filter", ... [WHERE condition]</c>.</summary>
internal sealed record SqlStatement(SelectField[] Fields, string[] From, SqlExpr? Where);

/// <summary>
/// A recursive-descent parser for EMQX 4.4's rule SQL. Precedence, loosest first: <c>or</c>, <c>and</c>, <c>not</c>,
/// comparisons (<c>= != &lt;&gt; &gt; &lt; &gt;= &lt;= =~ in</c>), <c>+ -</c>, <c>* / div mod</c>, unary minus.
/// Keywords are case-insensitive; strings take single or double quotes. Errors throw <see cref="RuleSqlException"/>
/// with the 1-based position of the offending token.
/// </summary>
internal sealed class SqlParser
{
    private readonly string _sql;
    private readonly List<Token> _tokens;
    private int _next;

    private SqlParser(string sql)
    {
        _sql = sql;
        _tokens = Tokenize(sql);
    }

    public static SqlStatement Parse(string sql)
    {
        ArgumentNullException.ThrowIfNull(sql);
        return new SqlParser(sql).Statement();
    }

    private enum Kind
    {
        Identifier,
        String,
        Number,
        Symbol,
        End,
    }

    private readonly record struct Token(Kind Kind, string Text, int Start, int End, object? Value = null);

    private Token Peek => _tokens[_next];

    private Token Take() => _tokens[_next++];

    private bool IsKeyword(string keyword) => Peek.Kind == Kind.Identifier && string.Equals(Peek.Text, keyword, StringComparison.OrdinalIgnoreCase);

    private bool IsSymbol(string symbol) => Peek.Kind == Kind.Symbol && Peek.Text == symbol;

    private static RuleSqlException Error(string reason, int offset) => new(reason, offset + 1);

    private RuleSqlException Unexpected(string expected)
    {
        Token t = Peek;
        string found = t.Kind == Kind.End ? "end of statement" : $"'{t.Text}'";
        return Error($"expected {expected}, found {found}", t.Start);
    }

    private void ExpectKeyword(string keyword)
    {
        if (!IsKeyword(keyword))
        {
            throw Unexpected(keyword.ToUpperInvariant());
        }

        _next++;
    }

    private void ExpectSymbol(string symbol)
    {
        if (!IsSymbol(symbol))
        {
            throw Unexpected($"'{symbol}'");
        }

        _next++;
    }

    private SqlStatement Statement()
    {
        ExpectKeyword("select");
        var fields = new List<SelectField>();
        do
        {
            fields.Add(Field());
        }
        while (TrySymbol(","));

        ExpectKeyword("from");
        var from = new List<string>();
        do
        {
            Token t = Peek;
            if (t.Kind != Kind.String)
            {
                throw Unexpected("a quoted topic filter or event name after FROM");
            }

            _next++;
            string topic = (string)t.Value!;
            if (topic.Length == 0)
            {
                throw Error("empty topic in FROM", t.Start);
            }

            from.Add(topic);
        }
        while (TrySymbol(","));

        SqlExpr? where = null;
        if (IsKeyword("where"))
        {
            _next++;
            where = Expression();
        }

        if (Peek.Kind != Kind.End)
        {
            throw Unexpected(where is null ? "WHERE or end of statement" : "an operator or end of statement");
        }

        return new SqlStatement([.. fields], [.. from], where);
    }

    private bool TrySymbol(string symbol)
    {
        if (IsSymbol(symbol))
        {
            _next++;
            return true;
        }

        return false;
    }

    private SelectField Field()
    {
        if (IsSymbol("*"))
        {
            _next++;
            return new SelectField(null, null, "*");
        }

        int start = Peek.Start;
        if (IsKeyword("from"))
        {
            throw Unexpected("a field, '*' or an expression");
        }

        SqlExpr expr = Expression();
        string text = _sql[start.._tokens[_next - 1].End].Trim();
        string? alias = null;
        if (IsKeyword("as"))
        {
            _next++;
            Token t = Peek;
            if (t.Kind is not (Kind.Identifier or Kind.String))
            {
                throw Unexpected("an alias after AS");
            }

            _next++;
            alias = t.Kind == Kind.String ? (string)t.Value! : t.Text;
            // An alias may be a path (AS a.b): EMQX nests the value.
            while (IsSymbol("."))
            {
                _next++;
                Token part = Peek;
                if (part.Kind != Kind.Identifier)
                {
                    throw Unexpected("a name after '.'");
                }

                _next++;
                alias += "." + part.Text;
            }
        }

        return new SelectField(expr, alias, text);
    }

    private SqlExpr Expression() => Or();

    private SqlExpr Or()
    {
        SqlExpr left = And();
        while (IsKeyword("or"))
        {
            int at = Take().Start + 1;
            left = new OrExpr(at, left, And());
        }

        return left;
    }

    private SqlExpr And()
    {
        SqlExpr left = Not();
        while (IsKeyword("and"))
        {
            int at = Take().Start + 1;
            left = new AndExpr(at, left, Not());
        }

        return left;
    }

    private SqlExpr Not()
    {
        if (IsKeyword("not"))
        {
            int at = Take().Start + 1;
            return new NotExpr(at, Not());
        }

        return Comparison();
    }

    private SqlExpr Comparison()
    {
        SqlExpr left = Additive();
        if (Peek.Kind == Kind.Symbol)
        {
            BinaryOp? op = Peek.Text switch
            {
                "=" => BinaryOp.Equal,
                "!=" or "<>" => BinaryOp.NotEqual,
                ">" => BinaryOp.Greater,
                "<" => BinaryOp.Less,
                ">=" => BinaryOp.GreaterOrEqual,
                "<=" => BinaryOp.LessOrEqual,
                "=~" => BinaryOp.TopicMatch,
                _ => null,
            };
            if (op is { } o)
            {
                int at = Take().Start + 1;
                return new BinaryExpr(at, o, left, Additive());
            }
        }

        bool negated = false;
        if (IsKeyword("not") && _tokens[_next + 1] is { Kind: Kind.Identifier } following && string.Equals(following.Text, "in", StringComparison.OrdinalIgnoreCase))
        {
            _next++;
            negated = true;
        }

        if (IsKeyword("in"))
        {
            int at = Take().Start + 1;
            ExpectSymbol("(");
            var items = new List<SqlExpr>();
            do
            {
                items.Add(Additive());
            }
            while (TrySymbol(","));

            ExpectSymbol(")");
            return new InExpr(at, left, [.. items], negated);
        }

        return left;
    }

    private SqlExpr Additive()
    {
        SqlExpr left = Multiplicative();
        while (Peek.Kind == Kind.Symbol && Peek.Text is "+" or "-")
        {
            Token op = Take();
            left = new BinaryExpr(op.Start + 1, op.Text == "+" ? BinaryOp.Add : BinaryOp.Subtract, left, Multiplicative());
        }

        return left;
    }

    private SqlExpr Multiplicative()
    {
        SqlExpr left = Unary();
        while (true)
        {
            BinaryOp op;
            if (IsSymbol("*"))
            {
                op = BinaryOp.Multiply;
            }
            else if (IsSymbol("/"))
            {
                op = BinaryOp.Divide;
            }
            else if (IsKeyword("div"))
            {
                op = BinaryOp.IntegerDivide;
            }
            else if (IsKeyword("mod"))
            {
                op = BinaryOp.Modulo;
            }
            else
            {
                return left;
            }

            int at = Take().Start + 1;
            left = new BinaryExpr(at, op, left, Unary());
        }
    }

    private SqlExpr Unary()
    {
        if (IsSymbol("-"))
        {
            int at = Take().Start + 1;
            return new NegateExpr(at, Unary());
        }

        return Primary();
    }

    private SqlExpr Primary()
    {
        Token t = Peek;
        switch (t.Kind)
        {
            case Kind.Number:
            case Kind.String:
                _next++;
                return new LiteralExpr(t.Start + 1, t.Value);
            case Kind.Symbol when t.Text == "(":
                _next++;
                SqlExpr inner = Expression();
                ExpectSymbol(")");
                return inner;
            case Kind.Identifier:
                return IdentifierExpression();
            default:
                throw Unexpected("a field, a literal, a function call or '('");
        }
    }

    private static readonly HashSet<string> s_reserved = new(StringComparer.OrdinalIgnoreCase) { "select", "from", "where", "and", "or", "not", "as", "in", "div", "mod" };

    private SqlExpr IdentifierExpression()
    {
        Token t = Take();
        if (s_reserved.Contains(t.Text))
        {
            _next--;
            throw Unexpected("a field, a literal, a function call or '('");
        }

        if (string.Equals(t.Text, "true", StringComparison.OrdinalIgnoreCase))
        {
            return new LiteralExpr(t.Start + 1, true);
        }

        if (string.Equals(t.Text, "false", StringComparison.OrdinalIgnoreCase))
        {
            return new LiteralExpr(t.Start + 1, false);
        }

        if (string.Equals(t.Text, "null", StringComparison.OrdinalIgnoreCase) || string.Equals(t.Text, "undefined", StringComparison.OrdinalIgnoreCase))
        {
            return new LiteralExpr(t.Start + 1, null);
        }

        if (IsSymbol("("))
        {
            _next++;
            if (!SqlFunctions.TryGet(t.Text, out SqlFunction? function))
            {
                throw Error($"unknown function '{t.Text}'", t.Start);
            }

            var args = new List<SqlExpr>();
            if (!IsSymbol(")"))
            {
                do
                {
                    args.Add(Expression());
                }
                while (TrySymbol(","));
            }

            ExpectSymbol(")");
            if (args.Count < function!.MinArgs || args.Count > function.MaxArgs)
            {
                string arity = function.MinArgs == function.MaxArgs ? $"{function.MinArgs}" : $"{function.MinArgs} to {function.MaxArgs}";
                throw Error($"function '{function.Name}' takes {arity} argument(s), got {args.Count}", t.Start);
            }

            return new CallExpr(t.Start + 1, function, [.. args]);
        }

        var steps = new List<PathStep>();
        while (true)
        {
            if (IsSymbol("."))
            {
                _next++;
                Token part = Peek;
                if (part.Kind == Kind.Identifier)
                {
                    _next++;
                    steps.Add(new PathStep(part.Text, 0));
                }
                else if (part.Kind == Kind.String)
                {
                    _next++;
                    steps.Add(new PathStep((string)part.Value!, 0));
                }
                else if (part.Kind == Kind.Number && part.Value is long)
                {
                    _next++;
                    steps.Add(new PathStep(part.Text, 0));
                }
                else
                {
                    throw Unexpected("a field name after '.'");
                }
            }
            else if (IsSymbol("["))
            {
                _next++;
                bool negative = TrySymbol("-");
                Token index = Peek;
                if (index.Kind != Kind.Number || index.Value is not long n)
                {
                    throw Unexpected("an integer index");
                }

                _next++;
                ExpectSymbol("]");
                steps.Add(new PathStep(null, negative ? -n : n));
            }
            else
            {
                break;
            }
        }

        return new FieldExpr(t.Start + 1, t.Text, [.. steps]);
    }

    private static List<Token> Tokenize(string sql)
    {
        var tokens = new List<Token>();
        int i = 0;
        while (i < sql.Length)
        {
            char c = sql[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }

            int start = i;
            if (char.IsLetter(c) || c == '_' || c == '$')
            {
                while (i < sql.Length && (char.IsLetterOrDigit(sql[i]) || sql[i] == '_' || sql[i] == '$'))
                {
                    i++;
                }

                tokens.Add(new Token(Kind.Identifier, sql[start..i], start, i));
                continue;
            }

            if (char.IsAsciiDigit(c))
            {
                while (i < sql.Length && char.IsAsciiDigit(sql[i]))
                {
                    i++;
                }

                bool isFloat = false;
                if (i + 1 < sql.Length && sql[i] == '.' && char.IsAsciiDigit(sql[i + 1]))
                {
                    isFloat = true;
                    i++;
                    while (i < sql.Length && char.IsAsciiDigit(sql[i]))
                    {
                        i++;
                    }
                }

                if (i < sql.Length && (sql[i] is 'e' or 'E'))
                {
                    int mark = i;
                    i++;
                    if (i < sql.Length && sql[i] is '+' or '-')
                    {
                        i++;
                    }

                    if (i < sql.Length && char.IsAsciiDigit(sql[i]))
                    {
                        isFloat = true;
                        while (i < sql.Length && char.IsAsciiDigit(sql[i]))
                        {
                            i++;
                        }
                    }
                    else
                    {
                        i = mark;
                    }
                }

                string text = sql[start..i];
                object value;
                if (isFloat)
                {
                    value = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
                }
                else if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long l))
                {
                    value = l;
                }
                else
                {
                    throw Error($"number '{text}' is out of range", start);
                }

                tokens.Add(new Token(Kind.Number, text, start, i, value));
                continue;
            }

            if (c is '\'' or '"')
            {
                var text = new StringBuilder();
                i++;
                while (true)
                {
                    if (i >= sql.Length)
                    {
                        throw Error($"unterminated string starting with {c}", start);
                    }

                    char d = sql[i];
                    if (d == '\\' && i + 1 < sql.Length)
                    {
                        char e = sql[i + 1];
                        text.Append(e switch { 'n' => '\n', 't' => '\t', 'r' => '\r', _ => e });
                        i += 2;
                        continue;
                    }

                    i++;
                    if (d == c)
                    {
                        break;
                    }

                    text.Append(d);
                }

                tokens.Add(new Token(Kind.String, sql[start..i], start, i, text.ToString()));
                continue;
            }

            string? symbol = null;
            if (i + 1 < sql.Length)
            {
                string two = sql.Substring(i, 2);
                if (two is "!=" or "<>" or ">=" or "<=" or "=~")
                {
                    symbol = two;
                }
            }

            if (symbol is null && c is '=' or '>' or '<' or '+' or '-' or '*' or '/' or '(' or ')' or ',' or '.' or '[' or ']')
            {
                symbol = c.ToString();
            }

            if (symbol is null)
            {
                throw Error($"unexpected character '{c}'", start);
            }

            i += symbol.Length;
            tokens.Add(new Token(Kind.Symbol, symbol, start, i));
        }

        tokens.Add(new Token(Kind.End, string.Empty, sql.Length, sql.Length));
        return tokens;
    }
}
