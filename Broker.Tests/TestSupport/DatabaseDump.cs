using System.Text;
using Microsoft.Data.Sqlite;

namespace Broker.Tests.TestSupport;

/// <summary>What the broker's database file holds, read as a user would with the sqlite3 shell: every value of some tables as text.</summary>
internal static class DatabaseDump
{
    public static string Values(string dataDirectory, params string[] tables)
    {
        var text = new StringBuilder();
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dataDirectory, "broker.db"),
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString());
        connection.Open();
        foreach (string table in tables)
        {
            using SqliteCommand command = connection.CreateCommand();
            command.CommandText = "SELECT * FROM " + table + ";";
            using SqliteDataReader reader = command.ExecuteReader();
            while (reader.Read())
            {
                for (int i = 0; i < reader.FieldCount; i++)
                {
                    object value = reader.GetValue(i);
                    text.Append(value is byte[] bytes ? Convert.ToHexString(bytes) : value.ToString()).Append('|');
                }

                text.AppendLine();
            }
        }

        return text.ToString();
    }
}
