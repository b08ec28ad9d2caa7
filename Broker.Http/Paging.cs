using System.Globalization;
using System.Text.Json;

namespace Broker.Http;

/// <summary>The <c>_page</c> (1-based) and <c>_limit</c> a request asked for.</summary>
public readonly record struct PageRequest(int Page, int Limit)
{
    /// <summary>Rows skipped before this page.</summary>
    public long Offset => (long)(Page - 1) * Limit;
}

/// <summary>
/// The <c>meta</c> of a page: <c>page</c>, <c>limit</c>, <c>count</c> (the table size, or -1 for a filtered query, as
/// EMQX 4.1+ reports it) and <c>hasnext</c> (null: not reported, as EMQX's <c>paginate/3</c> routes such as <c>/routes</c>).
/// </summary>
public readonly record struct PageMeta(int Page, int Limit, long Count, bool? HasNext)
{
    public void WriteTo(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteNumber("page", Page);
        writer.WriteNumber("limit", Limit);
        writer.WriteNumber("count", Count);
        if (HasNext is { } hasNext)
        {
            writer.WriteBoolean("hasnext", hasNext);
        }

        writer.WriteEndObject();
    }
}

/// <summary>One page of rows and its meta.</summary>
public sealed record PageResult<T>(IReadOnlyList<T> Items, PageMeta Meta);

/// <summary>
/// <c>_page</c>/<c>_limit</c> parsing and slicing, shared by every paged route (EMQX 4.4 <c>emqx_mgmt_api.erl</c>):
/// page 1 and limit <see cref="DefaultLimit"/> (<c>management.max_row_limit</c>) by default; a value that is not a
/// positive integer is a clean 400 with code 108 (EMQX crashes with a 500 there).
/// </summary>
public static class Paging
{
    /// <summary>EMQX's <c>management.max_row_limit</c>.</summary>
    public const int DefaultLimit = 10000;

    /// <summary>The query parameters that are paging, not filters.</summary>
    public static bool IsPagingParameter(string name) => name is "_page" or "_limit";

    /// <summary>Reads <c>_page</c> and <c>_limit</c>; throws a 400/108 <see cref="ApiException"/> for bad values.</summary>
    public static PageRequest Parse(QueryString query, int defaultLimit = DefaultLimit)
    {
        ArgumentNullException.ThrowIfNull(query);
        return new PageRequest(ParsePositive(query, "_page", 1), ParsePositive(query, "_limit", defaultLimit));
    }

    /// <summary>
    /// A page of <paramref name="rows"/>: with no filter, an O(1) slice reporting the total; with a filter, a single
    /// pass that stops once the page and one more row are found, reporting count -1 as EMQX does.
    /// </summary>
    public static PageResult<TOut> Apply<TIn, TOut>(IReadOnlyList<TIn> rows, PageRequest request, Func<TIn, bool>? filter, Func<TIn, TOut> project, bool reportHasNext = true)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(project);
        var items = new List<TOut>(Math.Min(request.Limit, Math.Max(rows.Count, 0)));
        bool hasNext;
        long count;
        if (filter is null)
        {
            count = rows.Count;
            long start = Math.Min(request.Offset, rows.Count);
            long end = Math.Min(start + request.Limit, rows.Count);
            for (long i = start; i < end; i++)
            {
                items.Add(project(rows[(int)i]));
            }

            hasNext = end < rows.Count;
        }
        else
        {
            count = -1;
            long matched = 0;
            hasNext = false;
            foreach (TIn row in rows)
            {
                if (!filter(row))
                {
                    continue;
                }

                if (matched >= request.Offset)
                {
                    if (items.Count == request.Limit)
                    {
                        hasNext = true;
                        break;
                    }

                    items.Add(project(row));
                }

                matched++;
            }
        }

        return new PageResult<TOut>(items, new PageMeta(request.Page, request.Limit, count, reportHasNext ? hasNext : null));
    }

    private static int ParsePositive(QueryString query, string name, int defaultValue)
    {
        string? text = query.Get(name);
        if (text is null || text.Length == 0)
        {
            return defaultValue;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < 1)
        {
            ApiThrow.BadRequest(ResultCode.BadParameter, $"{name} must be a positive integer, not '{text}'");
        }

        return value;
    }
}
