using Broker.Core.Rules;

namespace Broker.Tests.Rules;

/// <summary>The SQL dialect on its own: parsing, operators and precedence, functions, JSON paths, aliases, errors.</summary>
[TestFixture]
public sealed class RuleSqlTests
{
    private const string Payload = """{"temp":25,"hum":40.5,"name":"dev-1","list":[1,2,3],"nested":{"a":{"b":"deep"}},"on":true}""";

    private static readonly DateTimeOffset s_now = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    private static Dictionary<string, object?> Columns() => new(StringComparer.Ordinal)
    {
        ["id"] = "ABC",
        ["clientid"] = "c1",
        ["username"] = "alice",
        ["payload"] = Payload,
        ["topic"] = "sensors/room1/temp",
        ["qos"] = 1L,
        ["retain"] = false,
        ["timestamp"] = 1_700_000_000_000L,
        ["node"] = "broker@127.0.0.1",
    };

    private static Dictionary<string, object?>? Run(string sql) => RuleSql.Compile(sql).Evaluate(new RuleScope(Columns()) { Now = s_now });

    private static string Json(object? value) => RuleValues.ToJson(value);

    [Test]
    public void SelectStar_GivesEveryColumn()
    {
        Dictionary<string, object?> output = Run("""SELECT * FROM "sensors/#" """)!;

        Assert.That(output.Keys, Is.EquivalentTo(Columns().Keys));
        Assert.That(output["payload"], Is.EqualTo(Payload));
    }

    [Test]
    public void Aliases_NameTheFields()
    {
        Dictionary<string, object?> output = Run("""select clientid as cid, payload.temp AS t, upper(username) as u, qos from "sensors/#" """)!;

        Assert.That(Json(output), Is.EqualTo("""{"cid":"c1","t":25,"u":"ALICE","qos":1}"""));
    }

    [Test]
    public void JsonPathWithoutAlias_NestsLikeEmqx()
    {
        Dictionary<string, object?> output = Run("""SELECT payload.nested.a.b, payload.temp FROM "t" """)!;

        Assert.That(Json(output), Is.EqualTo("""{"payload":{"nested":{"a":{"b":"deep"}},"temp":25}}"""));
    }

    [Test]
    public void WhereCanUseAnAlias()
    {
        Assert.That(Run("""SELECT payload.temp AS t FROM "t" WHERE t > 20"""), Is.Not.Null);
        Assert.That(Run("""SELECT payload.temp AS t FROM "t" WHERE t > 30"""), Is.Null);
    }

    [Test]
    public void WhereOnPayloadPath_ReadsThePayload_WhenSelectNestsPayloadFields()
    {
        Dictionary<string, object?>? output = Run("""SELECT payload.temp, clientid AS c FROM "t" WHERE payload.hum > 40""");

        Assert.That(Json(output), Is.EqualTo("""{"payload":{"temp":25},"c":"c1"}"""));
    }

    [Test]
    public void FromList_KeepsEveryFilterAndEvent()
    {
        RuleSql sql = RuleSql.Compile("""SELECT * FROM "a/#", "b/+", "$events/client_connected" """);

        Assert.That(sql.From, Is.EqualTo(new[] { "a/#", "b/+", "$events/client_connected" }));
    }

    [TestCase("payload.temp > 20", true)]
    [TestCase("payload.temp >= 25", true)]
    [TestCase("payload.temp < 25", false)]
    [TestCase("payload.temp <= 25", true)]
    [TestCase("payload.temp = 25", true)]
    [TestCase("payload.temp != 25", false)]
    [TestCase("payload.temp <> 24", true)]
    [TestCase("payload.hum > 40.4", true)]
    [TestCase("payload.name = 'dev-1'", true)]
    [TestCase("payload.name = \"dev-1\"", true)]
    [TestCase("payload.temp = '25'", true, TestName = "A number equals a string of that number (EMQX converts)")]
    [TestCase("payload.on = true", true)]
    [TestCase("payload.list[2] = 2", true)]
    [TestCase("payload.list[-1] = 3", true)]
    [TestCase("payload.nested.a.b = 'deep'", true)]
    [TestCase("payload.missing = 1", false, TestName = "A missing field compares false")]
    [TestCase("payload.missing != 1", true)]
    [TestCase("clientid = 'c1' and username = 'alice'", true)]
    [TestCase("clientid = 'x' or username = 'alice'", true)]
    [TestCase("not clientid = 'x'", true)]
    [TestCase("NOT (clientid = 'c1' AND qos = 1)", false)]
    [TestCase("clientid = 'x' and qos = 1 or qos = 1", true, TestName = "AND binds tighter than OR")]
    [TestCase("clientid = 'x' and (qos = 1 or qos = 1)", false)]
    [TestCase("1 + 2 * 3 = 7", true, TestName = "* binds tighter than +")]
    [TestCase("(1 + 2) * 3 = 9", true)]
    [TestCase("10 - 2 - 3 = 5", true, TestName = "- is left associative")]
    [TestCase("payload.temp div 7 = 3", true)]
    [TestCase("payload.temp mod 7 = 4", true)]
    [TestCase("7 / 2 = 3.5", true)]
    [TestCase("-payload.temp = -25", true)]
    [TestCase("topic =~ 'sensors/+/temp'", true)]
    [TestCase("topic =~ 'sensors/#'", true)]
    [TestCase("topic =~ 'other/#'", false)]
    [TestCase("qos in (0, 1)", true)]
    [TestCase("qos not in (0, 1)", false)]
    [TestCase("is_null(payload.missing) and is_not_null(payload.temp)", true)]
    public void Where_Operators(string condition, bool matches)
    {
        Dictionary<string, object?>? output = Run($"""SELECT * FROM "sensors/#" WHERE {condition}""");

        Assert.That(output is not null, Is.EqualTo(matches), condition);
    }

    [TestCase("upper('ab')", "\"AB\"")]
    [TestCase("lower('AB')", "\"ab\"")]
    [TestCase("concat('a', 'b')", "\"ab\"")]
    [TestCase("'a' + 'b'", "\"ab\"")]
    [TestCase("substr('hello', 1, 3)", "\"ell\"")]
    [TestCase("substr('hello', 2)", "\"llo\"")]
    [TestCase("strlen(payload.name)", "5")]
    [TestCase("trim('  x ')", "\"x\"")]
    [TestCase("replace('a-b-c', '-', '/')", "\"a/b/c\"")]
    [TestCase("split('a/b/c', '/')", "[\"a\",\"b\",\"c\"]")]
    [TestCase("reverse('abc')", "\"cba\"")]
    [TestCase("regex_match(payload.name, '^dev-[0-9]+$')", "true")]
    [TestCase("regex_replace('a1b2', '[0-9]', '')", "\"ab\"")]
    [TestCase("abs(-3)", "3")]
    [TestCase("ceil(1.2)", "2")]
    [TestCase("floor(1.8)", "1")]
    [TestCase("round(2.5)", "3")]
    [TestCase("power(2, 10)", "1024")]
    [TestCase("sqrt(16)", "4")]
    [TestCase("int('42')", "42")]
    [TestCase("int(3.9)", "3")]
    [TestCase("float(1)", "1")]
    [TestCase("str(12)", "\"12\"")]
    [TestCase("str(1 + 2)", "\"3\"", TestName = "Integer arithmetic stays integral")]
    [TestCase("str(payload.temp)", "\"25\"", TestName = "A JSON integer stays integral")]
    [TestCase("str(-payload.temp)", "\"-25\"")]
    [TestCase("str(7 div 2)", "\"3\"")]
    [TestCase("bool('true')", "true")]
    [TestCase("is_num(payload.hum)", "true")]
    [TestCase("is_str(payload.temp)", "false")]
    [TestCase("json_encode(payload.nested)", "\"{\\\"a\\\":{\\\"b\\\":\\\"deep\\\"}}\"")]
    [TestCase("map_get('a', json_decode('{\"a\":1}'))", "1")]
    [TestCase("nth(2, payload.list)", "2")]
    [TestCase("base64_encode('hi')", "\"aGk=\"")]
    [TestCase("base64_decode('aGk=')", "\"hi\"")]
    [TestCase("md5('a')", "\"0cc175b9c0f1b6a831c399e269772661\"")]
    [TestCase("sha256('a')", "\"ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb\"")]
    [TestCase("now_timestamp()", "1795428000")]
    [TestCase("now_timestamp('millisecond')", "1795428000000")]
    [TestCase("abs('x')", "null", TestName = "A wrong argument gives null, not a failure")]
    public void Functions(string expression, string expectedJson)
    {
        Dictionary<string, object?> output = Run($"""SELECT {expression} AS v FROM "t" """)!;

        Assert.That(Json(output["v"]), Is.EqualTo(expectedJson), expression);
    }

    [Test]
    public void ExpressionWithoutAlias_IsKeyedByItsText()
    {
        Dictionary<string, object?> output = Run("""SELECT upper(clientid) FROM "t" """)!;

        Assert.That(output["upper(clientid)"], Is.EqualTo("C1"));
    }

    // Positions are 1-based character offsets of the token where parsing failed.
    [TestCase("", 1, "expected SELECT", TestName = "Empty statement")]
    [TestCase("SELECT FROM \"t\"", 8, "expected a field", TestName = "No field list")]
    [TestCase("SELECT * \"t\"", 10, "expected FROM", TestName = "FROM missing")]
    [TestCase("SELECT * FROM t", 15, "quoted topic filter", TestName = "Unquoted topic")]
    [TestCase("SELECT * FROM \"t\" WHERE", 24, "end of statement", TestName = "WHERE without condition")]
    [TestCase("SELECT * FROM \"t\" WHERE a = = 1", 29, "found '='", TestName = "Two operators")]
    [TestCase("SELECT * FROM \"t\" WHERE a = 'x", 29, "unterminated string", TestName = "Unterminated string")]
    [TestCase("SELECT nope(1) FROM \"t\"", 8, "unknown function 'nope'", TestName = "Unknown function")]
    [TestCase("SELECT upper() FROM \"t\"", 8, "takes 1 argument", TestName = "Wrong arity")]
    [TestCase("SELECT * FROM \"t\" WHERE (a = 1", 31, "expected ')'", TestName = "Unclosed parenthesis")]
    [TestCase("SELECT * FROM \"t\" WHERE a # 1", 27, "unexpected character '#'", TestName = "Unknown character")]
    [TestCase("SELECT * FROM \"t\" extra", 19, "WHERE or end of statement", TestName = "Trailing words")]
    public void ParseErrors_HavePositionAndMessage(string sql, int position, string message)
    {
        RuleSqlException? error = Assert.Throws<RuleSqlException>(() => RuleSql.Compile(sql));

        Assert.That(error!.Position, Is.EqualTo(position), error.Message);
        Assert.That(error.Message, Does.Contain(message).And.Contain($"position {position}"));
    }

    [Test]
    public void RandomInput_OnlyEverThrowsRuleSqlException()
    {
        var random = new Random(6);
        const string alphabet = "SELECT FROM WHERE *,.()'\"=<>!~+-/ab1 payload topic and or not [ ] 3.5e";
        for (int i = 0; i < 2000; i++)
        {
            var chars = new char[random.Next(0, 40)];
            for (int j = 0; j < chars.Length; j++)
            {
                chars[j] = alphabet[random.Next(alphabet.Length)];
            }

            string sql = "SELECT " + new string(chars);
            try
            {
                RuleSql compiled = RuleSql.Compile(sql);
                compiled.Evaluate(new RuleScope(Columns()));
            }
            catch (RuleSqlException)
            {
                // Expected for most inputs.
            }
        }
    }

    [Test]
    public void Template_RendersFieldsAndPaths()
    {
        RuleTemplate template = RuleTemplate.Parse("t/${clientid}/${payload.temp} ${missing}!");
        var selected = new Dictionary<string, object?>(StringComparer.Ordinal) { ["clientid"] = "c1" };

        Assert.That(template.Render(selected, Columns()), Is.EqualTo("t/c1/25 !"));
    }
}
